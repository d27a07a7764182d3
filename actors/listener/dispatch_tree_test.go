package listener_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

type seenDelivery struct {
	route string
	d     listener.Delivery
}

// Under DispatchOne, handlers are chosen category+name, then category, then
// the catch-all (case-insensitively, '_' and '-' the same); non-JSON payloads (malformed
// JSON included) go to the raw handler; each Delivery carries the message's
// metadata.
func TestListener_DispatchOneMostSpecificFirst(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan seenDelivery, 16)
	route := func(tag string) listener.Handler {
		return func(_ context.Context, d *listener.Delivery) error {
			got <- seenDelivery{tag, *d}
			return nil
		}
	}
	pid, row := spawn(t, r.tree, listener.Spec{Name: "dispatch", App: "tests",
		Queue:    listener.QueueSpec{Name: "dispatch-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "#"}},
		Consume:  listener.ConsumeOptions{Priority: 3, Args: amqp.Table{"x-test": "y"}},
		Dispatch: listener.DispatchOne, // Kamailio's order: one route per event
		Handlers: []listener.Route{
			{Category: "directory", Handler: route("category")},
			{Category: "directory", Name: "reg_success", Handler: route("exact")},
			{Handler: route("any")},
		},
		Raw: route("raw"),
	})
	if row.Queue != "dispatch-q" || row.ConsumerTag != "warren.dispatch" || row.Broker != r.broker(t) || row.Channel == "" ||
		len(row.Bindings) != 1 || row.Bindings[0] != "callmgr/#" || row.Name != "dispatch" {
		t.Fatalf("row %+v", row)
	}
	if q, ok := r.nb.Queue("dispatch-q"); !ok || q.Consumers != 1 || !q.AutoDelete {
		t.Fatalf("broker's queue %+v, %v", q, ok)
	}
	ch := rawChannel(t, r.nb)
	publish(t, ch, "callmgr", "k1", amqp.Publishing{ContentType: "application/json", CorrelationId: "corr-1", MessageId: "mid-1",
		Body: []byte(event("directory", "reg_success", "m1"))})
	first := recv(t, got, 5*time.Second, "delivery")
	if first.route != "exact" {
		t.Fatalf("directory/reg_success went to %s", first.route)
	}
	d := first.d
	if d.Exchange != "callmgr" || d.RoutingKey != "k1" || d.CorrelationID != "corr-1" || d.MessageID != "mid-1" ||
		d.Listener != "dispatch" || d.Queue != "dispatch-q" || d.Broker != r.broker(t) || d.Redelivered ||
		d.Envelope == nil || d.Envelope.MsgID() != "m1" || d.ContentType != "application/json" {
		t.Fatalf("delivery %+v", d)
	}

	for _, tt := range []struct {
		key, ct, body, want string
	}{
		{"k2", "application/json", event("Directory", "REG-FLUSH", "m2"), "category"},
		{"k3", "application/json", event("presence", "update", "m3"), "any"},
		{"k4", "application/json; charset=utf-8", event("DIRECTORY", "reg-success", "m4"), "exact"},
		{"k5", "", "  " + event("directory", "x", "m5"), "category"}, // no content type: JSON by its first byte
		{"k6", "application/vnd.kazoo+json", event("other", "x", "m6"), "any"},
	} {
		publish(t, ch, "callmgr", tt.key, amqp.Publishing{ContentType: tt.ct, Body: []byte(tt.body)})
		g := recv(t, got, 5*time.Second, "delivery "+tt.key)
		if g.route != tt.want || g.d.RoutingKey != tt.key {
			t.Fatalf("%s (%q) went to %s (key %s), want %s", tt.key, tt.body, g.route, g.d.RoutingKey, tt.want)
		}
	}
	publish(t, ch, "callmgr", "k7", amqp.Publishing{ContentType: "text/plain", Body: []byte("hello"), Headers: amqp.Table{"X-Test": "h"}})
	raw := recv(t, got, 5*time.Second, "raw delivery")
	if raw.route != "raw" || string(raw.d.Body) != "hello" || raw.d.Headers["X-Test"] != "h" || raw.d.Envelope != nil || raw.d.ContentType != "text/plain" {
		t.Fatalf("raw delivery %+v via %s", raw.d, raw.route)
	}
	// Malformed JSON is not JSON after all: the raw handler takes it.
	publishJSON(t, ch, "callmgr", "k8", `{"Event-Category": "broken",`)
	raw = recv(t, got, 5*time.Second, "malformed JSON delivery")
	if raw.route != "raw" || raw.d.Envelope != nil || string(raw.d.Body) != `{"Event-Category": "broken",` {
		t.Fatalf("malformed JSON went to %s: %+v", raw.route, raw.d)
	}
	row = waitRow(t, r.tree, pid.Id, "8 received and acked", func(l registry.Listener) bool {
		return l.Received == 8 && l.Acked == 8 && l.InFlight == 0
	})
	if row.Nacked+row.Rejected+row.Unhandled+row.Errors+row.Stale != 0 {
		t.Fatalf("row %+v", row)
	}
	queueIs(t, r.nb, "dispatch-q", 0, 0)
}

// A JSON event no route matches is acked and counted unhandled; the event
// keys can be other than Event-Category and Event-Name.
func TestListener_UnmatchedEventAckedAndCounted(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 4)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "keys", Queue: listener.QueueSpec{Name: "keys-q"},
		EventKey: "Kind", EventSubkey: "Sub", Prefetch: -1,
		Handlers: []listener.Route{{Category: "call", Name: "hangup", Handler: func(_ context.Context, d *listener.Delivery) error {
			got <- d.Envelope.Text("Kind") + "/" + d.Envelope.Text("Sub")
			return nil
		}}}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "keys-q", `{"Kind":"call","Sub":"nothing"}`)
	publishJSON(t, ch, "", "keys-q", `{"Event-Category":"call","Event-Name":"hangup"}`) // not the keys this listener reads
	publishJSON(t, ch, "", "keys-q", `{"Kind":"Call","Sub":"HANGUP"}`)
	if g := recv(t, got, 5*time.Second, "the matching event"); g != "Call/HANGUP" {
		t.Fatalf("handler got %q", g)
	}
	row := waitRow(t, r.tree, pid.Id, "2 unhandled, 3 acked", func(l registry.Listener) bool {
		return l.Unhandled == 2 && l.Acked == 3 && l.Received == 3
	})
	if row.Rejected != 0 || row.Nacked != 0 {
		t.Fatalf("row %+v", row)
	}
	queueIs(t, r.nb, "keys-q", 0, 0)
	select {
	case g := <-got:
		t.Fatalf("an unmatched event reached the handler: %q", g)
	default:
	}
}

// Without a raw handler, a non-JSON payload is rejected without requeue
// under OnError Discard; malformed JSON is rejected too (and logged with
// the queue's name); the listener keeps consuming.
func TestListener_RejectsNonJSONWithoutRawHandlerAndMalformedJSON(t *testing.T) {
	r := start(t, noPublishers)
	ok := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "strict", Queue: listener.QueueSpec{Name: "strict-q"}, OnError: listener.Discard,
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error { ok <- d.Envelope.MsgID(); return nil }}}})
	ch := rawChannel(t, r.nb)
	publish(t, ch, "", "strict-q", amqp.Publishing{ContentType: "text/plain", Body: []byte("hello")})
	publish(t, ch, "", "strict-q", amqp.Publishing{Body: []byte("no content type, not JSON")})
	publishJSON(t, ch, "", "strict-q", `{"Event-Category": "broken",`)
	publishJSON(t, ch, "", "strict-q", event("fine", "x", "good-1"))
	if id := recv(t, ok, 5*time.Second, "the valid event"); id != "good-1" {
		t.Fatalf("handler got %q", id)
	}
	after := waitRow(t, r.tree, pid.Id, "3 rejected", func(l registry.Listener) bool { return l.Rejected == 3 && l.Acked == 1 })
	if after.Nacked != 0 || after.Errors != 0 || after.Channel != row.Channel || after.State != registry.ListenerConsuming {
		t.Fatalf("row %+v (was on %s)", after, row.Channel)
	}
	queueIs(t, r.nb, "strict-q", 0, 0) // rejected without requeue: dropped
	testkit.Await(t, 5*time.Second, "3 rejects on the broker", r.nb.Changed, func() bool { return r.nb.Stats().Nacked == 3 })
	if l := r.logs.String(); !containsAll(l, "malformed JSON payload rejected", "queue=strict-q", "non-JSON payload and no raw handler") {
		t.Fatalf("rejections not logged with the queue name:\n%s", l)
	}
}

// With retries off, a handler error nacks the message: dropped under
// OnError Discard, requeued (and redelivered) under OnError Requeue.
func TestListener_HandlerErrorNacks(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)

	t.Run("discard", func(t *testing.T) {
		var calls atomic.Int32
		pid, _ := spawn(t, r.tree, listener.Spec{Name: "err-drop", Queue: listener.QueueSpec{Name: "err-drop"},
			OnError: listener.Discard, Retry: listener.RetryPolicy{Attempts: 1},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error {
				calls.Add(1)
				return errors.New("no")
			}}}})
		publishJSON(t, ch, "", "err-drop", event("a", "b", "e1"))
		row := waitRow(t, r.tree, pid.Id, "nacked", func(l registry.Listener) bool { return l.Nacked == 1 && l.Errors == 1 && l.InFlight == 0 })
		if row.Acked != 0 || row.Received != 1 {
			t.Fatalf("row %+v", row)
		}
		queueIs(t, r.nb, "err-drop", 0, 0)
		if n := calls.Load(); n != 1 {
			t.Fatalf("handler called %d times", n)
		}
		if !strings.Contains(r.logs.String(), "handler failed") {
			t.Fatal("handler error not logged")
		}
	})

	t.Run("requeue", func(t *testing.T) {
		var calls atomic.Int32
		redelivered := make(chan bool, 4)
		pid, _ := spawn(t, r.tree, listener.Spec{Name: "err-requeue", Queue: listener.QueueSpec{Name: "err-requeue"},
			OnError: listener.Requeue, Retry: listener.RetryPolicy{Attempts: 1},
			Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
				redelivered <- d.Redelivered
				if calls.Add(1) == 1 {
					return errors.New("first time fails")
				}
				return nil
			}}}})
		publishJSON(t, ch, "", "err-requeue", event("a", "b", "e2"))
		if recv(t, redelivered, 5*time.Second, "first delivery") {
			t.Fatal("first delivery marked redelivered")
		}
		if !recv(t, redelivered, 5*time.Second, "redelivery") {
			t.Fatal("second delivery is not marked redelivered")
		}
		waitRow(t, r.tree, pid.Id, "nacked then acked", func(l registry.Listener) bool {
			return l.Nacked == 1 && l.Requeued == 1 && l.Acked == 1 && l.Errors == 1 && l.Received == 2
		})
		queueIs(t, r.nb, "err-requeue", 0, 0)
	})
}

// A panicking handler is contained: under OnError Discard the message is
// nacked without requeue (and not retried), the panic logged with its
// event, and the listener neither restarts nor stops consuming.
func TestListener_HandlerPanicContained(t *testing.T) {
	r := start(t, noPublishers)
	ok := make(chan string, 1)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "panicky", Queue: listener.QueueSpec{Name: "panicky-q"}, OnError: listener.Discard,
		Dispatch: listener.DispatchOne, // the catch-all takes only what "bad" does not
		Handlers: []listener.Route{
			{Category: "bad", Handler: func(context.Context, *listener.Delivery) error { panic("kaboom") }},
			{Handler: func(_ context.Context, d *listener.Delivery) error { ok <- d.Envelope.Category(); return nil }},
		}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "panicky-q", event("bad", "thing", "p1"))
	publishJSON(t, ch, "", "panicky-q", event("good", "thing", "p2"))
	if c := recv(t, ok, 5*time.Second, "the next event"); c != "good" {
		t.Fatalf("got %q", c)
	}
	after := waitRow(t, r.tree, pid.Id, "panic counted", func(l registry.Listener) bool { return l.Errors == 1 && l.Nacked == 1 && l.Acked == 1 })
	if after.State != registry.ListenerConsuming || after.Channel != row.Channel {
		t.Fatalf("row %+v", after)
	}
	queueIs(t, r.nb, "panicky-q", 0, 0) // not requeued
	if l := r.logs.String(); !containsAll(l, "handler panicked", "kaboom", "category=bad", "name=thing") {
		t.Fatalf("panic not logged with its event:\n%s", l)
	}
	if a, _ := r.tree.Registry().Actor(pid.Id); a.Restarts != 0 {
		t.Fatalf("listener restarted: %+v", a)
	}
}

// Each ack policy, checked on the listener's row and on the broker's
// unacked count while the handler still runs.
func TestListener_AckPolicies(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)

	t.Run("after handler", func(t *testing.T) {
		g, started := make(gate), make(chan struct{}, 1)
		pid, _ := spawn(t, r.tree, listener.Spec{Name: "ack-after", Queue: listener.QueueSpec{Name: "ack-after"},
			Handlers: []listener.Route{{Handler: func(ctx context.Context, _ *listener.Delivery) error {
				started <- struct{}{}
				return g.wait(ctx)
			}}}})
		publishJSON(t, ch, "", "ack-after", event("a", "b", "x"))
		recv(t, started, 5*time.Second, "handler call")
		waitRow(t, r.tree, pid.Id, "in flight, not acked", func(l registry.Listener) bool { return l.InFlight == 1 && l.Acked == 0 })
		queueIs(t, r.nb, "ack-after", 0, 1)
		close(g)
		waitRow(t, r.tree, pid.Id, "acked", func(l registry.Listener) bool { return l.InFlight == 0 && l.Acked == 1 && l.Nacked == 0 })
		queueIs(t, r.nb, "ack-after", 0, 0)
	})

	t.Run("on receive, handler error", func(t *testing.T) {
		g, started := make(gate), make(chan struct{}, 1)
		pid, _ := spawn(t, r.tree, listener.Spec{Name: "ack-recv", Queue: listener.QueueSpec{Name: "ack-recv"}, Ack: listener.AckOnReceive,
			Handlers: []listener.Route{{Handler: func(ctx context.Context, _ *listener.Delivery) error {
				started <- struct{}{}
				if err := g.wait(ctx); err != nil {
					return err
				}
				return errors.New("ignored: acked already")
			}}}})
		publishJSON(t, ch, "", "ack-recv", event("a", "b", "x"))
		recv(t, started, 5*time.Second, "handler call")
		queueIs(t, r.nb, "ack-recv", 0, 0) // acked before the handler finished
		waitRow(t, r.tree, pid.Id, "acked while running", func(l registry.Listener) bool { return l.InFlight == 1 && l.Acked == 1 })
		close(g)
		row := waitRow(t, r.tree, pid.Id, "error counted, no nack", func(l registry.Listener) bool {
			return l.InFlight == 0 && l.Errors == 1
		})
		if row.Nacked != 0 || row.Acked != 1 || row.Stale != 0 {
			t.Fatalf("row %+v", row)
		}
		// Malformed JSON: acked on receipt, so nothing is rejected on the wire.
		publishJSON(t, ch, "", "ack-recv", `{"broken":`)
		waitRow(t, r.tree, pid.Id, "rejected", func(l registry.Listener) bool { return l.Rejected == 1 && l.Acked == 2 })
		queueIs(t, r.nb, "ack-recv", 0, 0)
		if n := r.nb.Stats().Nacked; n != 0 {
			t.Fatalf("%d nacks or rejects reached the broker", n)
		}
	})

	t.Run("auto", func(t *testing.T) {
		g, started := make(gate), make(chan struct{}, 1)
		pid, _ := spawn(t, r.tree, listener.Spec{Name: "ack-auto", Queue: listener.QueueSpec{Name: "ack-auto"}, Ack: listener.AckAuto,
			Handlers: []listener.Route{{Handler: func(ctx context.Context, _ *listener.Delivery) error {
				started <- struct{}{}
				if err := g.wait(ctx); err != nil {
					return err
				}
				return errors.New("ignored: acked on arrival")
			}}}})
		publishJSON(t, ch, "", "ack-auto", event("a", "b", "x"))
		recv(t, started, 5*time.Second, "handler call")
		queueIs(t, r.nb, "ack-auto", 0, 0)
		waitRow(t, r.tree, pid.Id, "acked on arrival", func(l registry.Listener) bool { return l.InFlight == 1 && l.Acked == 1 })
		close(g)
		waitRow(t, r.tree, pid.Id, "error counted", func(l registry.Listener) bool { return l.InFlight == 0 && l.Errors == 1 && l.Nacked == 0 })
		publish(t, ch, "", "ack-auto", amqp.Publishing{ContentType: "text/plain", Body: []byte("raw")})
		row := waitRow(t, r.tree, pid.Id, "rejected", func(l registry.Listener) bool { return l.Rejected == 1 })
		if row.Acked != 2 || row.Nacked != 0 {
			t.Fatalf("row %+v", row)
		}
		queueIs(t, r.nb, "ack-auto", 0, 0)
		if n := r.nb.Stats().Nacked; n != 0 {
			t.Fatalf("%d nacks or rejects reached the broker", n)
		}
	})
}

// AckOnReceive acks a delivery once, on receipt: a handler that succeeds
// (or an event no route matches) must not ack it a second time, which the
// broker answers with 406 "unknown delivery tag", closing the channel.
func TestListener_AckOnReceiveAcksOnce(t *testing.T) {
	r := start(t, noPublishers)
	handled := make(chan string, 4)
	pid, row := spawn(t, r.tree, listener.Spec{Name: "recv-once", Queue: listener.QueueSpec{Name: "recv-once"}, Ack: listener.AckOnReceive,
		Handlers: []listener.Route{{Category: "a", Handler: func(_ context.Context, d *listener.Delivery) error {
			handled <- d.Envelope.MsgID()
			return nil
		}}}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "recv-once", event("a", "b", "ok-1"))
	recv(t, handled, 5*time.Second, "handler call")
	first := waitRow(t, r.tree, pid.Id, "the handled event settled", func(l registry.Listener) bool { return l.Received == 1 && l.InFlight == 0 })
	if first.Acked != 1 {
		t.Errorf("a delivery whose handler succeeded was acked %d times, want 1", first.Acked)
	}
	publishJSON(t, ch, "", "recv-once", event("unrouted", "b", "ok-2"))
	second := waitRow(t, r.tree, pid.Id, "the unrouted event settled", func(l registry.Listener) bool {
		return l.Received >= 2 && l.Unhandled >= 1 && l.InFlight == 0
	})
	if second.Acked-first.Acked != 1 {
		t.Errorf("an unrouted delivery was acked %d times, want 1", second.Acked-first.Acked)
	}
	now := waitRow(t, r.tree, pid.Id, "consuming", consuming)
	if now.Channel != row.Channel || strings.Contains(r.logs.String(), "unknown delivery tag") {
		t.Errorf("the broker closed the listener's channel (was %s, now %s; 406 unknown delivery tag logged: %v)",
			row.Channel, now.Channel, strings.Contains(r.logs.String(), "unknown delivery tag"))
	}
	queueIs(t, r.nb, "recv-once", 0, 0)
}

// No more than Workers handlers run at once; the bound is reached.
func TestListener_WorkersBoundHandlersInFlight(t *testing.T) {
	const n, workers = 12, 3
	r := start(t, noPublishers)
	g := make(gate)
	var cur, peak atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "bounded", Queue: listener.QueueSpec{Name: "bounded-q"}, Workers: workers, Prefetch: 20,
		Raw: func(ctx context.Context, _ *listener.Delivery) error {
			now := cur.Add(1)
			defer cur.Add(-1)
			for {
				p := peak.Load()
				if now <= p || peak.CompareAndSwap(p, now) {
					break
				}
			}
			return g.wait(ctx)
		}})
	ch := rawChannel(t, r.nb)
	for i := range n {
		publish(t, ch, "", "bounded-q", amqp.Publishing{Body: fmt.Appendf(nil, "m%d", i)})
	}
	// Everything is on the client's side, and Workers handlers are busy.
	queueIs(t, r.nb, "bounded-q", 0, n)
	row := waitRow(t, r.tree, pid.Id, "workers busy", func(l registry.Listener) bool { return l.InFlight == workers })
	if p := peak.Load(); p != workers {
		t.Fatalf("%d handlers ran at once with %d workers", p, workers)
	}
	if row.Received != workers {
		t.Fatalf("received %d while %d workers are busy", row.Received, workers)
	}
	close(g)
	waitRow(t, r.tree, pid.Id, "all acked", func(l registry.Listener) bool { return l.Acked == n && l.InFlight == 0 })
	if p := peak.Load(); p > workers {
		t.Fatalf("%d handlers ran at once with %d workers", p, workers)
	}
	queueIs(t, r.nb, "bounded-q", 0, 0)
}

// With OrderedByKey the deliveries of one routing key are handled one at a
// time, in order; no more than Workers handlers run at once.
func TestListener_OrderedByKey(t *testing.T) {
	const perKey, workers = 25, 4
	keys := []string{"ord.a", "ord.b", "ord.c", "ord.d", "ord.e"}
	r := start(t, noPublishers)
	var mu sync.Mutex
	seq := map[string][]int{}
	active := map[string]int{}
	var overlap atomic.Bool
	var cur, peak atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "ordered", Queue: listener.QueueSpec{Name: "ordered-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "ord.*"}}, OrderedByKey: true, Workers: workers, Prefetch: 200,
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			if now := cur.Add(1); now > peak.Load() {
				peak.Store(now) // only grows; races only under-report
			}
			defer cur.Add(-1)
			var body struct{ Seq int }
			if err := json.Unmarshal(d.Body, &body); err != nil {
				return err
			}
			mu.Lock()
			if active[d.RoutingKey]++; active[d.RoutingKey] > 1 {
				overlap.Store(true)
			}
			mu.Unlock()
			time.Sleep(200 * time.Microsecond) // some work, so that a second handler of the key could overlap
			mu.Lock()
			active[d.RoutingKey]--
			seq[d.RoutingKey] = append(seq[d.RoutingKey], body.Seq)
			mu.Unlock()
			return nil
		}}}})
	ch := rawChannel(t, r.nb)
	for i := range perKey {
		for _, k := range keys {
			publishJSON(t, ch, "callevt", k, event("t", "e", fmt.Sprintf("%s-%d", k, i), fmt.Sprintf(`"Seq":%d`, i)))
		}
	}
	waitRow(t, r.tree, pid.Id, "all acked", func(l registry.Listener) bool { return l.Acked == uint64(perKey*len(keys)) && l.InFlight == 0 })
	if overlap.Load() {
		t.Fatal("two deliveries of one routing key were handled at once")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range keys {
		s := seq[k]
		if len(s) != perKey {
			t.Fatalf("key %s: %d deliveries handled, want %d", k, len(s), perKey)
		}
		for i, v := range s {
			if v != i {
				t.Fatalf("key %s handled out of order: %v", k, s)
			}
		}
	}
	if p := peak.Load(); p > workers {
		t.Fatalf("%d handlers ran at once with %d workers", p, workers)
	}
}

// Stopping a listener whose workers are all busy with handlers that wait
// for their ctx ends that ctx once the drain runs out of time, and ends its
// goroutines (the leak check proves it); the broker gets every message back.
func TestListener_StopWithBusyWorkers(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			name := fmt.Sprintf("busy-%v", ordered)
			started := make(chan struct{}, 8)
			pid, _ := spawn(t, r.tree, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name}, Workers: 1, OrderedByKey: ordered,
				Prefetch: 10,
				Raw: func(ctx context.Context, _ *listener.Delivery) error {
					started <- struct{}{}
					<-ctx.Done() // the listener stops
					return ctx.Err()
				}})
			for range 3 {
				publish(t, ch, "", name, amqp.Publishing{Body: []byte("x")})
			}
			recv(t, started, 5*time.Second, "handler call")
			queueIs(t, r.nb, name, 0, 3)
			// The drain cuts the handler that waits for its ctx when the
			// short ctx of StopListener runs out, and says so.
			if err := r.tree.StopListener(within(t, time.Second), name); !errors.Is(err, supervisor.ErrDrainCut) {
				t.Fatalf("StopListener = %v, want ErrDrainCut", err)
			}
			eventually(t, r.tree, 5*time.Second, "the row deleted", func() bool {
				_, ok := r.tree.Registry().Listener(pid.Id)
				return !ok
			})
			queueIs(t, r.nb, name, 3, 0) // requeued: nacked with requeue, or by the closing channel
			if q, _ := r.nb.Queue(name); q.Consumers != 0 {
				t.Fatalf("queue %+v still has a consumer", q)
			}
		})
	}
}

// Under a steady flow the same few goroutines handle every delivery (a
// goroutine per delivery would grow a fresh stack each time); once the
// flow stops they end: an idle listener holds no handler goroutine.
func TestListener_HandlerGoroutinesServeTheFlowThenEnd(t *testing.T) {
	const n, workers = 100, 2
	r := start(t, noPublishers)
	handled := make(chan string, 1)
	spawn(t, r.tree, listener.Spec{Name: "steady", Queue: listener.QueueSpec{Name: "steady-q"}, Workers: workers,
		Raw: func(context.Context, *listener.Delivery) error {
			handled <- goroutineID()
			return nil
		}})
	ch := rawChannel(t, r.nb)
	seen := map[string]bool{}
	for i := range n { // one at a time, each acked before the next
		publish(t, ch, "", "steady-q", amqp.Publishing{Body: fmt.Appendf(nil, "m%d", i)})
		seen[recv(t, handled, 5*time.Second, "handler call")] = true
		queueIs(t, r.nb, "steady-q", 0, 0)
	}
	if len(seen) > 2*workers { // per slot: one handling, one writing its ack
		t.Fatalf("%d deliveries handled on %d goroutines; want at most %d", n, len(seen), 2*workers)
	}
	pollUntil(t, 10*time.Second, "the handler goroutines ended", func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "listener.(*workers).run")
	})
}

// goroutineID is the running goroutine's number, from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	f := strings.Fields(string(buf[:runtime.Stack(buf, false)]))
	return f[1] // "goroutine 42 [running]:"
}
