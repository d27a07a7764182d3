package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

func event(cat, name, extra string) string {
	return fmt.Sprintf(`{"Event-Category":%q,"Event-Name":%q,"Msg-ID":"%s-%s"%s}`, cat, name, cat, name, extra)
}

// Under DispatchOne, handlers are chosen category+name, then category, then the catch-all;
// plain payloads go to the raw handler, with the delivery's metadata.
func TestListener_DispatchMostSpecificFirst(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	got := make(chan string, 16)
	route := func(tag string) listener.Handler {
		return func(_ context.Context, d *listener.Delivery) error {
			got <- tag + " " + d.RoutingKey
			return nil
		}
	}
	spawnListener(t, tree, listener.Spec{Name: "dispatch", Queue: listener.QueueSpec{Name: "dispatch-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "#"}},
		Dispatch: listener.DispatchOne,
		Handlers: []listener.Route{
			{Category: "directory", Handler: route("category")},
			{Category: "directory", Name: "reg_success", Handler: route("exact")},
			{Handler: route("any")},
		},
		Raw: func(_ context.Context, d *listener.Delivery) error {
			got <- "raw " + string(d.Body) + " " + d.Headers["X-Test"].(string)
			return nil
		},
	})
	ch := rawChannel(t, b)
	publishJSON(t, ch, "callmgr", "k1", event("directory", "reg_success", ""))
	if g := recv(t, got, 5*time.Second, "delivery"); g != "exact k1" {
		t.Fatalf("got %q", g)
	}
	publishJSON(t, ch, "callmgr", "k2", event("Directory", "reg_flush", ""))
	if g := recv(t, got, 5*time.Second, "delivery"); g != "category k2" {
		t.Fatalf("got %q", g)
	}
	publishJSON(t, ch, "callmgr", "k3", event("presence", "update", ""))
	if g := recv(t, got, 5*time.Second, "delivery"); g != "any k3" {
		t.Fatalf("got %q", g)
	}
	err := ch.Publish("callmgr", "k4", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte("hello"), Headers: amqp.Table{"X-Test": "h"}})
	if err != nil {
		t.Fatal(err)
	}
	if g := recv(t, got, 5*time.Second, "delivery"); g != "raw hello h" {
		t.Fatalf("got %q", g)
	}
}

// Every ack policy, checked on the broker's own counts.
func TestListener_AckPolicies(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	ch := rawChannel(t, b)
	queueCounts := func(q string) string { // "ready unacked"
		for _, line := range strings.Split(b.Ctl(t, "list_queues", "name", "messages_ready", "messages_unacknowledged", "--quiet", "--no-table-headers"), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == q {
				return f[1] + " " + f[2]
			}
		}
		return "missing"
	}

	t.Run("after handler: acked on success", func(t *testing.T) {
		done := make(chan struct{}, 1)
		pid, _ := spawnListener(t, tree, listener.Spec{Name: "ack-ok", Queue: listener.QueueSpec{Name: "ack-ok"},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { done <- struct{}{}; return nil }}}})
		publishJSON(t, ch, "", "ack-ok", event("a", "b", ""))
		recv(t, done, 5*time.Second, "handler call")
		waitListener(t, tree, pid.Id, 5*time.Second, "acked", func(l registry.Listener) bool { return l.Acked == 1 })
		testkit.Poll(t, 5*time.Second, "queue empty", func() bool { return queueCounts("ack-ok") == "0 0" })
	})
	t.Run("after handler: a failed message goes to the queue's dead-letter exchange", func(t *testing.T) {
		if _, err := ch.QueueDeclare("ack-dlq", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		pid, _ := spawnListener(t, tree, listener.Spec{Name: "ack-err", Queue: listener.QueueSpec{Name: "ack-err",
			Args: amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "ack-dlq"}},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return errors.New("no") }}}})
		publishJSON(t, ch, "", "ack-err", event("a", "b", ""))
		waitListener(t, tree, pid.Id, 5*time.Second, "dead-lettered", func(l registry.Listener) bool {
			return l.DeadLettered == 1 && l.Errors == 1 && l.Retried == 2
		})
		testkit.Poll(t, 5*time.Second, "message dead-lettered", func() bool { return queueCounts("ack-dlq") == "1 0" })
	})
	t.Run("after handler: OnError Requeue requeues, redelivered", func(t *testing.T) {
		var calls atomic.Int32
		redelivered := make(chan bool, 2)
		spawnListener(t, tree, listener.Spec{Name: "ack-requeue", Queue: listener.QueueSpec{Name: "ack-requeue"},
			OnError: listener.Requeue, Retry: listener.RetryPolicy{Attempts: 1},
			Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
				redelivered <- d.Redelivered
				if calls.Add(1) == 1 {
					return errors.New("first time fails")
				}
				return nil
			}}}})
		publishJSON(t, ch, "", "ack-requeue", event("a", "b", ""))
		if recv(t, redelivered, 5*time.Second, "first delivery") || !recv(t, redelivered, 5*time.Second, "redelivery") {
			t.Fatal("second delivery is not marked redelivered")
		}
		testkit.Poll(t, 5*time.Second, "queue empty", func() bool { return queueCounts("ack-requeue") == "0 0" })
	})
	t.Run("auto ack: the broker forgets on send", func(t *testing.T) {
		gate := make(chan struct{})
		started := make(chan struct{}, 1)
		spawnListener(t, tree, listener.Spec{Name: "ack-auto", Queue: listener.QueueSpec{Name: "ack-auto"}, Ack: listener.AckAuto,
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { started <- struct{}{}; <-gate; return nil }}}})
		publishJSON(t, ch, "", "ack-auto", event("a", "b", ""))
		recv(t, started, 5*time.Second, "handler call")
		// While the handler still runs, the broker holds nothing.
		testkit.Poll(t, 5*time.Second, "nothing unacked", func() bool { return queueCounts("ack-auto") == "0 0" })
		close(gate)
	})
	t.Run("on receive: acked before the handler finishes", func(t *testing.T) {
		gate := make(chan struct{})
		started := make(chan struct{}, 1)
		pid, _ := spawnListener(t, tree, listener.Spec{Name: "ack-recv", Queue: listener.QueueSpec{Name: "ack-recv"}, Ack: listener.AckOnReceive,
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error {
				started <- struct{}{}
				<-gate
				return errors.New("ignored")
			}}}})
		publishJSON(t, ch, "", "ack-recv", event("a", "b", ""))
		recv(t, started, 5*time.Second, "handler call")
		testkit.Poll(t, 5*time.Second, "acked while running", func() bool { return queueCounts("ack-recv") == "0 0" })
		close(gate)
		waitListener(t, tree, pid.Id, 5*time.Second, "error counted, no nack", func(l registry.Listener) bool { return l.Errors == 1 && l.Nacked == 0 && l.Acked == 1 })
	})
}

// A panicking handler is contained: the message is dead-lettered (to the
// listener's error queue: a panic is not retried), the panic logged with
// its event, and the listener keeps consuming.
func TestListener_HandlerPanicContained(t *testing.T) {
	b := StartBroker(t)
	tree, logs := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	ok := make(chan string, 1)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "panicky", Queue: listener.QueueSpec{Name: "panicky"},
		Dispatch: listener.DispatchOne, // the catch-all takes only what "bad" does not
		Handlers: []listener.Route{
			{Category: "bad", Handler: func(context.Context, *listener.Delivery) error { panic("kaboom") }},
			{Handler: func(_ context.Context, d *listener.Delivery) error { ok <- d.Envelope.Category(); return nil }},
		}})
	ch := rawChannel(t, b)
	publishJSON(t, ch, "", "panicky", event("bad", "thing", ""))
	publishJSON(t, ch, "", "panicky", event("good", "thing", ""))
	if c := recv(t, ok, 5*time.Second, "the next event"); c != "good" {
		t.Fatalf("got %q", c)
	}
	row := waitListener(t, tree, pid.Id, 5*time.Second, "panic counted", func(l registry.Listener) bool { return l.Errors == 1 && l.DeadLettered == 1 })
	if msg, ok, err := ch.Get("panicky_error", true); err != nil || !ok || !strings.Contains(fmt.Sprint(msg.Headers["x-warren-error"]), "kaboom") {
		t.Fatalf("panicky_error: %v %v %v", err, ok, msg.Headers)
	}
	if row.State != registry.ListenerConsuming {
		t.Fatalf("row = %+v", row)
	}
	if l := logs.String(); !strings.Contains(l, "handler panicked") || !strings.Contains(l, "kaboom") || !strings.Contains(l, "category=bad") {
		t.Fatal("panic not logged with its event")
	}
	if r, _ := tree.Registry().Actor(pid.Id); r.Restarts != 0 {
		t.Fatalf("listener restarted: %+v", r)
	}
}

// Malformed JSON is dead-lettered to the queue's dead-letter exchange (with
// the reason in its headers), logged with the queue's name, and never stops
// the listener.
func TestListener_MalformedJSONDeadLettered(t *testing.T) {
	b := StartBroker(t)
	tree, logs := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("malformed-dlq", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ok := make(chan struct{}, 1)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "strict", Queue: listener.QueueSpec{Name: "strict-q",
		Args: amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "malformed-dlq"}},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { ok <- struct{}{}; return nil }}}})
	publishJSON(t, ch, "", "strict-q", `{"Event-Category": "broken",`)
	publishJSON(t, ch, "", "strict-q", event("fine", "x", ""))
	recv(t, ok, 5*time.Second, "the valid event")
	waitListener(t, tree, pid.Id, 5*time.Second, "rejected", func(l registry.Listener) bool { return l.Rejected == 1 })
	msg, okGet, err := ch.Get("malformed-dlq", true)
	if err != nil || !okGet || string(msg.Body) != `{"Event-Category": "broken",` || !strings.Contains(fmt.Sprint(msg.Headers["x-warren-error"]), "malformed JSON") {
		t.Fatalf("dead-letter queue: %v %v %q %v", err, okGet, msg.Body, msg.Headers)
	}
	if !strings.Contains(logs.String(), "malformed JSON payload dead-lettered") || !strings.Contains(logs.String(), "queue=strict-q") {
		t.Fatal("rejection not logged with the queue name")
	}
}

// A listener can live under an actor of the embedding application: its
// props are public; it shows in the listeners table and consumes.
func TestListener_SpawnedUnderAnApplicationActor(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	got := make(chan string, 1)
	props, err := listener.Props(tree.Env(), listener.Spec{Name: "app-owned", Queue: listener.QueueSpec{Name: "app-owned-q", AutoDelete: true},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error { got <- d.Envelope.MsgID(); return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := tree.System().Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			c.SpawnNamed(props, "app-owned")
		}
	}), "myapp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tree.System().Root.StopFuture(app).Wait() })
	waitListener(t, tree, "myapp/app-owned", 15*time.Second, "consuming", func(l registry.Listener) bool { return l.State == registry.ListenerConsuming })
	publishJSON(t, rawChannel(t, b), "", "app-owned-q", event("a", "b", ""))
	if id := recv(t, got, 5*time.Second, "delivery"); id != "a-b" {
		t.Fatalf("got %q", id)
	}
	if row, ok := tree.Registry().Actor("myapp/app-owned"); !ok || row.Parent != "myapp" {
		t.Fatalf("actors row = %+v, %v", row, ok)
	}
}
