package listener_test

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// keys collects the routing keys a listener handles.
func keys(c chan<- string) listener.Handler {
	return func(_ context.Context, d *listener.Delivery) error {
		c <- d.RoutingKey
		return nil
	}
}

// Bindings added and removed at run time are applied on the broker at once
// and shown in the listener's row; the channel stays the same.
func TestListener_BindingsAddedAndRemovedAtRunTime(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 8)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "rt", Queue: listener.QueueSpec{Name: "rt-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "spec.*"}}, Raw: keys(got)})
	ctx := within(t, 20*time.Second)
	if want := []string{"callevt/spec.*"}; !reflect.DeepEqual(bindingsTo(r.nb, "rt-q"), want) {
		t.Fatalf("broker's bindings %v, want %v", bindingsTo(r.nb, "rt-q"), want)
	}

	rt := listener.Binding{Exchange: "callevt", RoutingKey: "rt.*"}
	own := listener.Binding{Exchange: "rt-x", Kind: "fanout", Declare: true, AutoDelete: true}
	for _, b := range []listener.Binding{rt, own, rt} { // rt twice: recorded once
		if err := r.tree.AddBinding(ctx, pid, b); err != nil {
			t.Fatalf("add %s: %v", b, err)
		}
	}
	if want := []string{"callevt/rt.*", "callevt/spec.*", "rt-x/"}; !reflect.DeepEqual(bindingsTo(r.nb, "rt-q"), want) {
		t.Fatalf("broker's bindings %v, want %v", bindingsTo(r.nb, "rt-q"), want)
	}
	if !slices.ContainsFunc(r.nb.Exchanges(), func(x nullbroker.ExchangeInfo) bool { return x.Name == "rt-x" && x.Kind == "fanout" && x.AutoDelete }) {
		t.Fatalf("exchange rt-x not declared: %+v", r.nb.Exchanges())
	}
	now := waitRow(t, r.tree, pid.Id, "three bindings", func(l registry.Listener) bool { return len(l.Bindings) == 3 })
	if want := []string{"callevt/spec.*", "callevt/rt.*", "rt-x/"}; !reflect.DeepEqual(now.Bindings, want) {
		t.Fatalf("row bindings %v, want %v", now.Bindings, want)
	}
	ch := rawChannel(t, r.nb)
	publish(t, ch, "callevt", "rt.1", amqp.Publishing{Body: []byte("a")})
	if k := recv(t, got, 5*time.Second, "delivery through the run-time binding"); k != "rt.1" {
		t.Fatalf("got %q", k)
	}
	publish(t, ch, "rt-x", "anything", amqp.Publishing{Body: []byte("b")})
	if k := recv(t, got, 5*time.Second, "delivery through the declared exchange"); k != "anything" {
		t.Fatalf("got %q", k)
	}

	if err := r.tree.RemoveBinding(ctx, pid, rt); err != nil {
		t.Fatal(err)
	}
	if hasBinding(r.nb, "rt-q", "callevt/rt.*") {
		t.Fatalf("binding still on the broker: %v", bindingsTo(r.nb, "rt-q"))
	}
	now = waitRow(t, r.tree, pid.Id, "two bindings", func(l registry.Listener) bool { return len(l.Bindings) == 2 })
	if want := []string{"callevt/spec.*", "rt-x/"}; !reflect.DeepEqual(now.Bindings, want) {
		t.Fatalf("row bindings %v, want %v", now.Bindings, want)
	}
	if err := r.tree.RemoveBinding(ctx, pid, rt); err == nil || !strings.Contains(err.Error(), "no binding callevt/rt.*") {
		t.Fatalf("removing it again: %v", err)
	}
	if err := r.tree.AddBinding(ctx, pid, listener.Binding{RoutingKey: "k"}); err == nil || !strings.Contains(err.Error(), "needs an exchange") {
		t.Fatalf("adding a binding without exchange: %v", err)
	}
	if err := r.tree.RemoveBinding(ctx, pid, listener.Binding{RoutingKey: "k"}); err == nil || !strings.Contains(err.Error(), "needs an exchange") {
		t.Fatalf("removing a binding without exchange: %v", err)
	}
	last, _ := r.tree.Registry().Listener(pid.Id)
	if last.Channel != row.Channel || last.State != registry.ListenerConsuming {
		t.Fatalf("row %+v, was on channel %s", last, row.Channel)
	}
}

// A binding to a missing exchange fails with the broker's 404 and is not
// kept; the listener consumes again on a new channel; other listeners are
// not touched.
func TestListener_AddBindingToAMissingExchangeFails(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "victim", Queue: listener.QueueSpec{Name: "victim-q"}, Raw: keys(got)})
	bpid, brow := spawn(t, r.tree, listener.Spec{Name: "bystander", Queue: listener.QueueSpec{Name: "bystander-q"}, Raw: keys(got)})
	err := r.tree.AddBinding(within(t, 10*time.Second), pid, listener.Binding{Exchange: "no-such-x", RoutingKey: "k"})
	if err == nil || !containsAll(err.Error(), "listener victim", "bind no-such-x/k", "NOT_FOUND") {
		t.Fatalf("AddBinding = %v, want the broker's 404", err)
	}
	if now, _ := r.tree.Registry().Listener(pid.Id); len(now.Bindings) != 0 {
		t.Fatalf("refused binding in the row: %v", now.Bindings)
	}
	after := waitRow(t, r.tree, pid.Id, "consuming on a new channel", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != row.Channel
	})
	if len(after.Bindings) != 0 || len(bindingsTo(r.nb, "victim-q")) != 0 {
		t.Fatalf("refused binding kept: row %v, broker %v", after.Bindings, bindingsTo(r.nb, "victim-q"))
	}
	if now, _ := r.tree.Registry().Listener(bpid.Id); now.Channel != brow.Channel || !consuming(now) {
		t.Fatalf("bystander touched: %+v", now)
	}
	ch := rawChannel(t, r.nb)
	publish(t, ch, "", "victim-q", amqp.Publishing{Body: []byte("x")})
	if k := recv(t, got, 5*time.Second, "delivery after the refusal"); k != "victim-q" {
		t.Fatalf("got %q", k)
	}
}

// A refused AddBinding of a binding the listener already has (here: its
// exchange declared with another kind, 406) must not make the listener
// forget the binding it had: it is still recorded and replayed.
func TestListener_RefusedAddBindingKeepsTheExistingBinding(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 4)
	spec := listener.Binding{Exchange: "callevt", RoutingKey: "keep.*"}
	pid, row := spawn(t, r.tree, listener.Spec{Name: "keeper", Queue: listener.QueueSpec{Name: "keeper-q", AutoDelete: true},
		Bindings: []listener.Binding{spec}, Raw: keys(got)})
	clash := listener.Binding{Exchange: "callevt", RoutingKey: "keep.*", Declare: true, Kind: "direct"} // callevt is a topic exchange
	err := r.tree.AddBinding(within(t, 10*time.Second), pid, clash)
	if err == nil || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
		t.Fatalf("AddBinding = %v, want the broker's 406", err)
	}
	// The reply comes once the listener has updated its record and row.
	if now, _ := r.tree.Registry().Listener(pid.Id); !reflect.DeepEqual(now.Bindings, []string{"callevt/keep.*"}) {
		t.Errorf("row bindings after the refused re-add: %v, want [callevt/keep.*] (the spec's binding was forgotten)", now.Bindings)
	}
	after := waitRow(t, r.tree, pid.Id, "consuming on a new channel", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != row.Channel
	})
	// Another reconnect replays the record alone: the auto-delete queue is
	// declared afresh with what the record holds.
	r.nb.Kill()
	waitRow(t, r.tree, pid.Id, "consuming after a reconnect", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != after.Channel
	})
	if !hasBinding(r.nb, "keeper-q", "callevt/keep.*") {
		t.Errorf("broker's bindings of the re-declared queue: %v, want callevt/keep.* (the listener no longer gets its events)", bindingsTo(r.nb, "keeper-q"))
	}
}

// After the broker drops every connection, the listener consumes again on
// a new channel with its spec's and its run-time bindings replayed (the
// auto-delete queue went with its consumer and is declared again).
func TestListener_ReplaysBindingsAfterKill(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 8)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "replay", Queue: listener.QueueSpec{Name: "replay-q", AutoDelete: true}, Prefetch: 5,
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "k.spec"}, {Exchange: "own-x", Kind: "topic", Declare: true, RoutingKey: "own.#"}},
		Raw:      keys(got)})
	if err := r.tree.AddBinding(within(t, 10*time.Second), pid, listener.Binding{Exchange: "callevt", RoutingKey: "k.rt"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"callevt/k.rt", "callevt/k.spec", "own-x/own.#"}
	if got := bindingsTo(r.nb, "replay-q"); !reflect.DeepEqual(got, want) {
		t.Fatalf("broker's bindings before %v, want %v", got, want)
	}
	r.nb.Kill()
	after := waitRow(t, r.tree, pid.Id, "consuming on a new channel", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != row.Channel
	})
	if b := bindingsTo(r.nb, "replay-q"); !reflect.DeepEqual(b, want) {
		t.Fatalf("broker's bindings after the replay %v, want %v", b, want)
	}
	if len(after.Bindings) != 3 || after.Queue != "replay-q" || after.Broker != r.broker(t) {
		t.Fatalf("row %+v", after)
	}
	ch := rawChannel(t, r.nb)
	for _, k := range []struct{ x, key string }{{"callevt", "k.rt"}, {"own-x", "own.1"}, {"callevt", "k.spec"}} {
		publish(t, ch, k.x, k.key, amqp.Publishing{Body: []byte("x")})
		if g := recv(t, got, 5*time.Second, "delivery via "+k.x+"/"+k.key); g != k.key {
			t.Fatalf("got %q, want %q", g, k.key)
		}
	}
}

// A queue whose spec names none is named once, warren-<name>-<16 hex>, and
// declared under that name again after a reconnect.
func TestListener_AnonymousQueueNamedOnce(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "anon", Queue: listener.QueueSpec{Exclusive: true, AutoDelete: true}, Raw: keys(got)})
	if !regexp.MustCompile(`^warren-anon-[0-9a-f]{16}$`).MatchString(row.Queue) {
		t.Fatalf("queue %q is not warren-anon-<16 hex>", row.Queue)
	}
	if q, ok := r.nb.Queue(row.Queue); !ok || !q.Exclusive || q.Consumers != 1 {
		t.Fatalf("broker's queue %+v, %v", q, ok)
	}
	r.nb.Kill()
	after := waitRow(t, r.tree, pid.Id, "consuming on a new channel", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != row.Channel
	})
	if after.Queue != row.Queue {
		t.Fatalf("queue renamed from %q to %q by the reconnect", row.Queue, after.Queue)
	}
	if n := len(r.nb.Queues()); n != 1 {
		t.Fatalf("the broker holds %d queues: %+v", n, r.nb.Queues())
	}
	publish(t, rawChannel(t, r.nb), "", row.Queue, amqp.Publishing{Body: []byte("x")})
	if k := recv(t, got, 5*time.Second, "delivery to the anonymous queue"); k != row.Queue {
		t.Fatalf("got %q", k)
	}
}

// The broker cancelling the listener's consumer (an operator's cancel, or
// its queue deleted) leaves the channel open: the listener declares its
// topology again on that channel and consumes.
func TestListener_BrokerCancelDeclaresAgain(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "cancelled", Queue: listener.QueueSpec{Name: "cancel-q"},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "cancel.*"}}, Raw: keys(got)})
	ch := rawChannel(t, r.nb)
	for i, act := range []struct {
		name string
		do   func() bool
	}{
		{"consumers cancelled", func() bool { return r.nb.CancelConsumers("cancel-q") == 1 }},
		{"queue deleted", func() bool { return r.nb.DeleteQueue("cancel-q") }},
	} {
		since := time.Now()
		if !act.do() {
			t.Fatalf("%s: nothing to act on", act.name)
		}
		after := waitRow(t, r.tree, pid.Id, act.name+": consuming again", func(l registry.Listener) bool {
			return consuming(l) && l.Since.After(since)
		})
		if after.Channel != row.Channel {
			t.Fatalf("%s: channel replaced (%s, was %s)", act.name, after.Channel, row.Channel)
		}
		testkit.Await(t, 5*time.Second, act.name+": queue consumed and bound again", r.nb.Changed, func() bool {
			q, ok := r.nb.Queue("cancel-q")
			return ok && q.Consumers == 1 && hasBinding(r.nb, "cancel-q", "callevt/cancel.*")
		})
		key := fmt.Sprintf("cancel.%d", i)
		publish(t, ch, "callevt", key, amqp.Publishing{Body: []byte("x")})
		if k := recv(t, got, 5*time.Second, "delivery after "+act.name); k != key {
			t.Fatalf("got %q", k)
		}
	}
	if !strings.Contains(r.logs.String(), "consumer cancelled by the broker") {
		t.Error("cancel not logged")
	}
}

// A topology the broker refuses on every replay (its queue declared
// elsewhere with other arguments: 406) says failed at its first refusal,
// with the broker's reason and what to change; the listener keeps retrying
// and consumes once the clash is gone.
func TestListener_AConflictingQueueSaysFailedAtOnceWithAHint(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)
	if _, err := ch.QueueDeclare("clash-q", true, false, false, false, amqp.Table{"x-message-ttl": int32(1000)}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	pid, err := r.tree.SpawnListener(within(t, 10*time.Second), listener.Spec{Name: "clash",
		Queue: listener.QueueSpec{Name: "clash-q", Durable: true}, Raw: keys(got)})
	if err != nil {
		t.Fatal(err)
	}
	waitRow(t, r.tree, pid.Id, "refused", func(l registry.Listener) bool {
		return l.State != registry.ListenerConsuming && strings.Contains(l.LastError, "PRECONDITION_FAILED")
	})
	row := waitRow(t, r.tree, pid.Id, "failed", func(l registry.Listener) bool { return l.State == registry.ListenerFailed })
	if !containsAll(row.LastError, "broker refused the topology", "PRECONDITION_FAILED", "x-message-ttl",
		"queue clash-q exists with other flags or arguments: give the QueueSpec the same") {
		t.Fatalf("last error %q: want the broker's refusal and the hint", row.LastError)
	}
	if n := strings.Count(r.logs.String(), "level=ERROR"); n != 1 {
		t.Fatalf("%d ERROR lines for one conflict, want 1:\n%s", n, r.logs.Tail(30))
	}
	if q, _ := r.nb.Queue("clash-q"); q.Consumers != 0 {
		t.Fatalf("the refused queue has %d consumers", q.Consumers)
	}
	if !r.nb.DeleteQueue("clash-q") {
		t.Fatal("clash-q is gone")
	}
	after := waitRow(t, r.tree, pid.Id, "consuming once the clash is gone", consuming)
	if after.LastError != "" {
		t.Fatalf("last error kept: %q", after.LastError)
	}
	publish(t, ch, "", "clash-q", amqp.Publishing{Body: []byte("x")})
	recv(t, got, 5*time.Second, "delivery")
}

// A replay refused at its queue declare reports the queue it declared:
// "declare queue clash-q: ...", in the log and in the row's last error.
func TestListener_RefusedQueueDeclareNamesTheQueue(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)
	if _, err := ch.QueueDeclare("named-q", true, false, false, false, amqp.Table{"x-max-length": int32(5)}); err != nil {
		t.Fatal(err)
	}
	pid, err := r.tree.SpawnListener(within(t, 10*time.Second), listener.Spec{Name: "named",
		Queue: listener.QueueSpec{Name: "named-q", Durable: true}, Raw: keys(make(chan string, 1))})
	if err != nil {
		t.Fatal(err)
	}
	// The refusal reaches the listener as the replay's result or as the
	// channel's loss, whichever comes first; the listener retries, and on
	// some replay its result comes first and is logged.
	testkit.Await(t, 10*time.Second, "a replay's result logged", r.logs.Changed, func() bool { return strings.Contains(r.logs.String(), "topology replay failed") })
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "topology replay failed") && !containsAll(line, "queue=named-q", "declare queue named-q: ") {
			t.Errorf("the replay's error does not name the queue:\n%s", line)
		}
	}
	row, _ := r.tree.Registry().Listener(pid.Id)
	if strings.Contains(row.LastError, "declare queue") && !strings.Contains(row.LastError, "declare queue named-q: ") {
		t.Errorf("the row's last error does not name the queue: %q", row.LastError)
	}
}

// Acks of deliveries from a channel the listener has lost are dropped and
// counted stale: they never reach the new channel (where the tag means
// nothing and would close it with 406); the broker redelivers the message.
func TestListener_StaleAcksAfterTheChannelIsReplaced(t *testing.T) {
	r := start(t, noPublishers)
	g, started := make(gate), make(chan bool, 4)
	var calls atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "stale", Queue: listener.QueueSpec{Name: "stale-q"},
		Raw: func(ctx context.Context, d *listener.Delivery) error {
			started <- d.Redelivered
			if calls.Add(1) == 1 {
				return g.wait(ctx)
			}
			return nil
		}})
	publish(t, rawChannel(t, r.nb), "", "stale-q", amqp.Publishing{Body: []byte("x")})
	if recv(t, started, 5*time.Second, "first delivery") {
		t.Fatal("first delivery marked redelivered")
	}
	old := waitRow(t, r.tree, pid.Id, "in flight", func(l registry.Listener) bool { return l.InFlight == 1 })
	r.nb.Kill()
	if !recv(t, started, 10*time.Second, "redelivery on the new channel") {
		t.Fatal("second delivery is not marked redelivered")
	}
	now := waitRow(t, r.tree, pid.Id, "redelivery acked on the new channel", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != old.Channel && l.Acked == 1
	})
	close(g)
	after := waitRow(t, r.tree, pid.Id, "the old ack dropped", func(l registry.Listener) bool { return l.Stale == 1 && l.InFlight == 0 })
	if after.Acked != 1 || after.Channel != now.Channel || !consuming(after) {
		t.Fatalf("row %+v, want 1 ack on channel %s", after, now.Channel)
	}
	queueIs(t, r.nb, "stale-q", 0, 0)
	if a := r.nb.Stats().Acked; a != 1 {
		t.Fatalf("the broker saw %d acks", a)
	}
}

// A binding removed while the listener has no channel is unbound by the
// next replay (the queue outlives its channel); a pending unbind whose
// exchange is gone meanwhile is dropped.
func TestListener_RemoveBindingWhileDisconnected(t *testing.T) {
	r := start(t, func(cfg *supervisor.Config) {
		cfg.Publish.Publishers = -1
		// The first redial after a lost session waits 300-600ms: the window
		// in which the listener has no channel.
		cfg.Connection.Backoff = actors.Backoff{First: 600 * time.Millisecond, Max: 600 * time.Millisecond}
	})
	ch := rawChannel(t, r.nb)
	if err := ch.ExchangeDeclare("tmp-x", "direct", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	gone := listener.Binding{Exchange: "callevt", RoutingKey: "gone.*"}
	keep := listener.Binding{Exchange: "callevt", RoutingKey: "kept.*"}
	tmp := listener.Binding{Exchange: "tmp-x", RoutingKey: "t"}
	got := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "durable", Queue: listener.QueueSpec{Name: "durable-q", Durable: true},
		Bindings: []listener.Binding{gone, keep, tmp}, Raw: keys(got)})
	if want := []string{"callevt/gone.*", "callevt/kept.*", "tmp-x/t"}; !reflect.DeepEqual(bindingsTo(r.nb, "durable-q"), want) {
		t.Fatalf("broker's bindings %v, want %v", bindingsTo(r.nb, "durable-q"), want)
	}
	r.nb.Kill()
	waitRow(t, r.tree, pid.Id, "reconnecting", func(l registry.Listener) bool { return l.State == registry.ListenerReconnecting })
	ctx := within(t, 10*time.Second)
	for _, b := range []listener.Binding{gone, tmp} {
		if err := r.tree.RemoveBinding(ctx, pid, b); err != nil {
			t.Fatal(err)
		}
	}
	if now, _ := r.tree.Registry().Listener(pid.Id); consuming(now) || !reflect.DeepEqual(now.Bindings, []string{"callevt/kept.*"}) {
		t.Fatalf("row %+v: want [callevt/kept.*], not consuming yet", now)
	}
	// tmp-x goes while the listener waits: its pending unbind meets a 404.
	if err := rawChannel(t, r.nb).ExchangeDelete("tmp-x", false, false); err != nil {
		t.Fatal(err)
	}
	waitRow(t, r.tree, pid.Id, "consuming on a new channel", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != row.Channel
	})
	if b := bindingsTo(r.nb, "durable-q"); !reflect.DeepEqual(b, []string{"callevt/kept.*"}) {
		t.Fatalf("broker's bindings after the replay: %v, want [callevt/kept.*]", b)
	}
	publish(t, rawChannel(t, r.nb), "callevt", "kept.1", amqp.Publishing{Body: []byte("x")})
	if k := recv(t, got, 5*time.Second, "delivery"); k != "kept.1" {
		t.Fatalf("got %q", k)
	}
	// Nothing pending is left: a later reconnect replays cleanly.
	now, _ := r.tree.Registry().Listener(pid.Id)
	r.nb.Kill()
	waitRow(t, r.tree, pid.Id, "consuming after another reconnect", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != now.Channel
	})
	if b := bindingsTo(r.nb, "durable-q"); !reflect.DeepEqual(b, []string{"callevt/kept.*"}) {
		t.Fatalf("broker's bindings after the second replay: %v", b)
	}
}

// listener.Props runs under an actor of the application: the listener
// consumes, keeps its row, and goes (row and consumer) with its parent.
func TestListener_PropsUnderAnApplicationActor(t *testing.T) {
	r := start(t, noPublishers)
	if _, err := listener.Props(r.tree.Env(), listener.Spec{Name: "no-handler"}); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("Props of an invalid spec: %v", err)
	}
	got := make(chan string, 1)
	props, err := listener.Props(r.tree.Env(), listener.Spec{Name: "app-owned", App: "myapp",
		Queue:    listener.QueueSpec{Name: "app-owned-q", AutoDelete: true},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error { got <- d.Envelope.MsgID(); return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	spawned := make(chan error, 1)
	app, err := r.tree.System().Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			_, err := c.SpawnNamed(props, "app-owned")
			spawned <- err
		}
	}), "myapp")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = r.tree.System().Root.StopFuture(app).Wait()
		}
	})
	if err := recv(t, spawned, 5*time.Second, "the child spawned"); err != nil {
		t.Fatal(err)
	}
	row := waitRow(t, r.tree, "myapp/app-owned", "consuming", consuming)
	if row.Name != "app-owned" || row.Queue != "app-owned-q" {
		t.Fatalf("row %+v", row)
	}
	if a, ok := r.tree.Registry().Actor("myapp/app-owned"); !ok || a.Parent != "myapp" {
		t.Fatalf("actors row %+v, %v", a, ok)
	}
	publishJSON(t, rawChannel(t, r.nb), "", "app-owned-q", event("a", "b", "app-1"))
	if id := recv(t, got, 5*time.Second, "delivery"); id != "app-1" {
		t.Fatalf("got %q", id)
	}
	if err := r.tree.System().Root.StopFuture(app).Wait(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	eventually(t, r.tree, 5*time.Second, "the listener's row and channel gone", func() bool {
		_, hasRow := r.tree.Registry().Listener("myapp/app-owned")
		_, hasChannel := r.tree.Registry().AssignmentOf("myapp/app-owned")
		return !hasRow && !hasChannel
	})
	testkit.Await(t, 5*time.Second, "the auto-delete queue gone with its consumer", r.nb.Changed, func() bool {
		_, ok := r.nb.Queue("app-owned-q")
		return !ok
	})
}

// SpawnListener refuses an invalid spec and starts nothing; a sticky
// listener consumes on its own broker.
func TestSpawnListener_SpecValidation(t *testing.T) {
	r := start(t, noPublishers)
	h := func(context.Context, *listener.Delivery) error { return nil }
	ctx := within(t, 10*time.Second)
	for _, tt := range []struct {
		spec listener.Spec
		want string
	}{
		{listener.Spec{Raw: h}, "a name without '/' or '$' is required"},
		{listener.Spec{Name: "a/b", Raw: h}, "a name without '/' or '$' is required"},
		{listener.Spec{Name: "a$b", Raw: h}, "a name without '/' or '$' is required"},
		{listener.Spec{Name: "l"}, "no handler"},
		{listener.Spec{Name: "l", Handlers: []listener.Route{{Category: "c", Name: "n"}}}, "route c.n has no handler"},
		{listener.Spec{Name: "l", Raw: h, Channel: registry.Sticky}, "a sticky channel needs a broker"},
		{listener.Spec{Name: "l", Raw: h, Bindings: []listener.Binding{{RoutingKey: "k"}}}, "binding #1: exchange is required"},
		{listener.Spec{Name: "l", Raw: h, Bindings: []listener.Binding{{Exchange: "x", RoutingKey: "k", Declare: true}}}, "declaring an exchange needs its kind"},
		{listener.Spec{Name: "l", Raw: h, Prefetch: 1 << 16}, "AMQP allows at most 65535"},
	} {
		pid, err := r.tree.SpawnListener(ctx, tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) || pid != nil {
			t.Errorf("spec %+v: %v, %v; want an error with %q", tt.spec, pid, err, tt.want)
		}
	}
	if rows := r.tree.Registry().Listeners(); len(rows) != 0 {
		t.Fatalf("invalid specs left rows: %+v", rows)
	}
	pid, row := spawn(t, r.tree, listener.Spec{Name: "sticky", Queue: listener.QueueSpec{Name: "sticky-q", AutoDelete: true},
		Channel: registry.Sticky, Broker: r.broker(t), Raw: h})
	if row.Broker != r.broker(t) {
		t.Fatalf("row %+v", row)
	}
	if a, ok := r.tree.Registry().AssignmentOf(pid.Id); !ok || a.Type != registry.Sticky || a.Broker != r.broker(t) {
		t.Fatalf("assignment %+v, %v", a, ok)
	}
	// A second listener of the same name is refused by the supervisor.
	if _, err := r.tree.SpawnListener(ctx, listener.Spec{Name: "sticky", Raw: h}); err == nil {
		t.Fatal("a second listener named sticky was spawned")
	}
	if err := r.tree.StopListener(ctx, "sticky"); err != nil {
		t.Fatal(err)
	}
	eventually(t, r.tree, 5*time.Second, "the row gone", func() bool {
		_, ok := r.tree.Registry().Listener(pid.Id)
		return !ok
	})
	if err := r.tree.StopListener(ctx, "sticky"); err == nil {
		t.Fatal("stopped a listener twice")
	}
}

// A binding added while the listener has no channel is tried by the next
// replay; when the broker refuses it (its exchange missing) it is dropped
// from the record and the listener consumes with the rest, instead of
// failing every replay until it is marked failed.
func TestListener_AddBindingWhileDisconnectedRefusedIsDropped(t *testing.T) {
	r := start(t, func(cfg *supervisor.Config) {
		cfg.Publish.Publishers = -1
		cfg.Connection.Backoff = actors.Backoff{First: 600 * time.Millisecond, Max: 600 * time.Millisecond}
	})
	keep := listener.Binding{Exchange: "callevt", RoutingKey: "kept.*"}
	got := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "late", Queue: listener.QueueSpec{Name: "late-q", Durable: true},
		Bindings: []listener.Binding{keep}, Raw: keys(got)})
	r.nb.Kill()
	waitRow(t, r.tree, pid.Id, "reconnecting", func(l registry.Listener) bool { return l.State == registry.ListenerReconnecting })
	bad := listener.Binding{Exchange: "no-such-x", RoutingKey: "k"}
	if err := r.tree.AddBinding(within(t, 10*time.Second), pid, bad); err != nil {
		t.Fatalf("AddBinding while disconnected: %v (recorded for the next replay)", err)
	}
	after := waitRow(t, r.tree, pid.Id, "consuming without the refused binding", func(l registry.Listener) bool {
		return consuming(l) && l.Channel != row.Channel
	})
	if !reflect.DeepEqual(after.Bindings, []string{"callevt/kept.*"}) || !reflect.DeepEqual(bindingsTo(r.nb, "late-q"), []string{"callevt/kept.*"}) {
		t.Fatalf("row %v, broker %v: want only callevt/kept.*", after.Bindings, bindingsTo(r.nb, "late-q"))
	}
	publish(t, rawChannel(t, r.nb), "callevt", "kept.1", amqp.Publishing{Body: []byte("x")})
	if k := recv(t, got, 5*time.Second, "delivery"); k != "kept.1" {
		t.Fatalf("got %q", k)
	}
}

// An AutoDelete queue goes only after its last consumer: one declared and
// never consumed, because its bind met a missing exchange, would stay on
// the broker (issue 24, point 7). The listener checks the exchanges first:
// nothing is declared until they exist, and then it consumes.
func TestListener_AutoDeleteQueueIsNotDeclaredWhileItsExchangeIsMissing(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 1)
	pid, err := r.tree.SpawnListener(within(t, 10*time.Second), listener.Spec{Name: "ad",
		Queue:    listener.QueueSpec{Name: "ad-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "ad-missing", RoutingKey: "k"}}, Raw: keys(got)})
	if err != nil {
		t.Fatal(err)
	}
	// The refusal comes as the replay's error or as the channel's loss,
	// whichever the listener hears first.
	waitRow(t, r.tree, pid.Id, "refused", func(l registry.Listener) bool {
		return containsAll(l.LastError, "NOT_FOUND", "ad-missing")
	})
	if q, ok := r.nb.Queue("ad-q"); ok {
		t.Fatalf("auto-delete queue declared although its exchange is missing: %+v", q)
	}
	ch := rawChannel(t, r.nb)
	if err := ch.ExchangeDeclare("ad-missing", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	waitRow(t, r.tree, pid.Id, "consuming once the exchange exists", consuming)
	publish(t, ch, "ad-missing", "k", amqp.Publishing{Body: []byte("x")})
	if k := recv(t, got, 5*time.Second, "delivery"); k != "k" {
		t.Fatalf("got %q", k)
	}
}
