package listener_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// Under DispatchAll (the default) every route whose key matches an event
// runs — {Cat, Name}, {"*", Name}, {Cat, "*"} — each at once on a goroutine
// of its own, and the delivery is acked once, after the last returned.
func TestListener_DispatchAllRunsEveryMatchingRouteAndAcksAfterAll(t *testing.T) {
	r := start(t, noPublishers)
	g := make(gate)
	started := make(chan string, 8)
	route := func(tag string, wait bool) listener.Handler {
		return func(ctx context.Context, _ *listener.Delivery) error {
			started <- tag
			if wait {
				return g.wait(ctx)
			}
			return nil
		}
	}
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "fanout", Queue: listener.QueueSpec{Name: "fanout-q"},
		Handlers: []listener.Route{
			{Category: "call", Name: "hangup", Handler: route("exact", true)},
			{Category: "*", Name: "HANGUP", Handler: route("name", true)},
			{Category: "call", Handler: route("category", false)},
			{Category: "other", Handler: route("other", false)},
		}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "fanout-q", event("call", "hangup", "f1"))
	seen := map[string]bool{}
	for range 3 {
		seen[recv(t, started, 5*time.Second, "a route's call")] = true
	}
	if !seen["exact"] || !seen["name"] || !seen["category"] {
		t.Fatalf("routes run: %v, want exact, name and category", seen)
	}
	// Two routes still wait, both started: they run at once, and the
	// delivery is not acked before they return.
	waitRow(t, r.tree, pid.Id, "in flight, not acked", func(l registry.Listener) bool { return l.InFlight == 1 && l.Acked == 0 })
	queueIs(t, r.nb, "fanout-q", 0, 1)
	close(g)
	row := waitRow(t, r.tree, pid.Id, "acked", func(l registry.Listener) bool { return l.InFlight == 0 && l.Acked == 1 })
	if row.Received != 1 || row.Nacked+row.Errors+row.Unhandled != 0 {
		t.Fatalf("row %+v, want one delivery acked once", row)
	}
	queueIs(t, r.nb, "fanout-q", 0, 0)
	if n := r.nb.Stats().Acked; n != 1 {
		t.Fatalf("the broker saw %d acks, want 1", n)
	}
	select {
	case tag := <-started:
		t.Fatalf("route %s ran too", tag)
	default:
	}
}

// When one of two matching routes fails for good, the failure policy
// applies once to the delivery: one dead letter naming the route, no
// second settle; only the failing route is retried.
func TestListener_DispatchAllOneRouteFailsPolicyAppliedOnce(t *testing.T) {
	r := start(t, noPublishers)
	var good, bad atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "halfway", Queue: listener.QueueSpec{Name: "halfway-q"},
		Retry: listener.RetryPolicy{Attempts: 2, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond},
		Handlers: []listener.Route{
			{Category: "call", Handler: func(context.Context, *listener.Delivery) error { good.Add(1); return nil }},
			{Name: "hangup", Handler: func(context.Context, *listener.Delivery) error { bad.Add(1); return errors.New("db down") }},
		}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "halfway-q", event("call", "hangup", "h1"))
	row := waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 && l.InFlight == 0 })
	if row.Errors != 1 || row.Retried != 1 || row.Nacked != 0 || row.Acked != 0 {
		t.Fatalf("row %+v, want one error, one retry, one dead letter and nothing else", row)
	}
	if g, b := good.Load(), bad.Load(); g != 1 || b != 2 {
		t.Fatalf("the good route ran %d times, the failing one %d; want 1 and 2 (only the failure is retried)", g, b)
	}
	d := getOne(t, r, ch, "halfway-q_error")
	checkDeadLetter(t, r, d, "halfway", "halfway-q", "", "halfway-q", "route *.hangup: db down", 2)
	queueIs(t, r.nb, "halfway-q", 0, 0)
	if s := r.nb.Stats(); s.Acked != 1 || s.Nacked != 0 {
		t.Fatalf("broker stats %+v: want the one ack of the dead letter's confirm, no nack", s)
	}
}

// HandleEvent sees every delivery — an event with routes (alongside them),
// one without, and a payload that is not JSON — and its failure fails the
// delivery as a route's does.
func TestListener_HandleEventSeesEveryDelivery(t *testing.T) {
	r := start(t, noPublishers)
	seen := make(chan string, 8)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "hooked", Queue: listener.QueueSpec{Name: "hooked-q"}, OnError: listener.Discard,
		Handlers: []listener.Route{{Category: "call", Handler: func(context.Context, *listener.Delivery) error {
			seen <- "route"
			return nil
		}}},
		HandleEvent: func(_ context.Context, d *listener.Delivery) error {
			if d.Envelope == nil {
				seen <- "hook raw " + string(d.Body)
				return nil
			}
			seen <- "hook " + d.Envelope.MsgID()
			if d.Envelope.MsgID() == "fail" {
				return errors.New("hook says no")
			}
			return nil
		}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "hooked-q", event("call", "x", "m1"))
	got := map[string]bool{recv(t, seen, 5*time.Second, "first call"): true, recv(t, seen, 5*time.Second, "second call"): true}
	if !got["route"] || !got["hook m1"] {
		t.Fatalf("a routed event reached %v, want the route and the hook", got)
	}
	publishJSON(t, ch, "", "hooked-q", event("presence", "x", "m2"))
	if s := recv(t, seen, 5*time.Second, "the hook"); s != "hook m2" {
		t.Fatalf("an event without a route reached %q, want the hook", s)
	}
	publish(t, ch, "", "hooked-q", amqp.Publishing{ContentType: "text/plain", Body: []byte("plain")})
	if s := recv(t, seen, 5*time.Second, "the hook"); s != "hook raw plain" {
		t.Fatalf("a raw payload reached %q, want the hook", s)
	}
	publishJSON(t, ch, "", "hooked-q", event("presence", "x", "fail"))
	if s := recv(t, seen, 5*time.Second, "the hook"); s != "hook fail" {
		t.Fatalf("got %q", s)
	}
	row := waitRow(t, r.tree, pid.Id, "3 acked, 1 discarded", func(l registry.Listener) bool {
		return l.Acked == 3 && l.Nacked == 1 && l.InFlight == 0
	})
	if row.Unhandled != 0 || row.Rejected != 0 || row.Errors != 1 {
		t.Fatalf("row %+v: the hook handles what no route does", row)
	}
	queueIs(t, r.nb, "hooked-q", 0, 0)
}

// With OrderedByKey the routes of one delivery still run at once, bounded
// by Workers: two routes of a delivery on a one-worker listener run one
// after the other on its goroutine, and the delivery is acked once.
func TestListener_DispatchAllWithinWorkerBound(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		name := "unordered"
		if ordered {
			name = "ordered"
		}
		t.Run(name, func(t *testing.T) {
			r := start(t, noPublishers)
			var cur, peak, runs atomic.Int32
			h := func(context.Context, *listener.Delivery) error {
				now := cur.Add(1)
				defer cur.Add(-1)
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				runs.Add(1)
				return nil
			}
			pid, _ := spawn(t, r.tree, listener.Spec{Name: "one-worker", Queue: listener.QueueSpec{Name: "one-worker-q"},
				Workers: 1, OrderedByKey: ordered,
				Handlers: []listener.Route{{Category: "a", Handler: h}, {Name: "b", Handler: h}, {Handler: h}}})
			ch := rawChannel(t, r.nb)
			for range 5 {
				publishJSON(t, ch, "", "one-worker-q", event("a", "b", "w"))
			}
			waitRow(t, r.tree, pid.Id, "5 acked", func(l registry.Listener) bool { return l.Acked == 5 && l.InFlight == 0 })
			if p, n := peak.Load(), runs.Load(); p != 1 || n != 15 {
				t.Fatalf("%d routes ran at once (want 1, the worker bound), %d runs (want 3 per delivery)", p, n)
			}
			queueIs(t, r.nb, "one-worker-q", 0, 0)
		})
	}
}
