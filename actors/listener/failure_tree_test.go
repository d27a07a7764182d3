package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// fastRetry retries at once (1 ms), so that the tests take no time.
var fastRetry = listener.RetryPolicy{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}

// getOne waits until queue holds one ready message and takes it (no ack).
func getOne(t *testing.T, r *rig, ch *amqp.Channel, queue string) amqp.Delivery {
	t.Helper()
	queueIs(t, r.nb, queue, 1, 0)
	d, ok, err := ch.Get(queue, true)
	if err != nil || !ok {
		t.Fatalf("get from %s: ok %v, err %v", queue, ok, err)
	}
	return d
}

// checkDeadLetter checks the x-warren-* headers of a dead letter.
func checkDeadLetter(t *testing.T, r *rig, d amqp.Delivery, listenerName, queue, exchange, key, errHas string, attempts int32) {
	t.Helper()
	h := d.Headers
	want := map[string]any{"x-warren-listener": listenerName, "x-warren-queue": queue, "x-warren-attempts": attempts,
		"x-warren-original-exchange": exchange, "x-warren-original-routing-key": key, "x-warren-broker": r.broker(t)}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %#v (%T), want %#v", k, h[k], h[k], v)
		}
	}
	if e, _ := h["x-warren-error"].(string); !strings.Contains(e, errHas) || len(e) > listener.MaxErrorHeader {
		t.Errorf("header x-warren-error = %q, want it to say %q", e, errHas)
	}
	if at, ok := h["x-warren-failed-at"].(time.Time); !ok || time.Since(at) > time.Minute || time.Until(at) > time.Second {
		t.Errorf("header x-warren-failed-at = %#v", h["x-warren-failed-at"])
	}
	if d.DeliveryMode != amqp.Persistent {
		t.Errorf("dead letter delivery mode %d, want persistent", d.DeliveryMode)
	}
}

// A handler that fails twice then succeeds is run three times (the default
// Attempts) on the same delivery, which is then acked: no nack, no
// redelivery, no dead letter.
func TestFailure_RetriedThenAcked(t *testing.T) {
	r := start(t, noPublishers)
	var calls atomic.Int32
	redelivered := make(chan bool, 4)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "flaky", Queue: listener.QueueSpec{Name: "flaky-q"}, Retry: fastRetry,
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			redelivered <- d.Redelivered
			if n := calls.Add(1); int(n) != d.Attempt {
				t.Errorf("run %d says attempt %d", n, d.Attempt)
			}
			if calls.Load() <= 2 {
				return errors.New("not yet")
			}
			return nil
		}}}})
	publishJSON(t, rawChannel(t, r.nb), "", "flaky-q", event("a", "b", "f1"))
	row := waitRow(t, r.tree, pid.Id, "acked after 2 retries", func(l registry.Listener) bool { return l.Acked == 1 && l.InFlight == 0 })
	if row.Retried != 2 || row.Received != 1 || row.Nacked != 0 || row.Errors != 0 || row.DeadLettered != 0 {
		t.Fatalf("row %+v", row)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times, want 3", n)
	}
	for range 3 {
		if recv(t, redelivered, time.Second, "a run") {
			t.Fatal("a retry came as a redelivery")
		}
	}
	queueIs(t, r.nb, "flaky-q", 0, 0)
	if _, ok := r.nb.Queue("flaky-q_error"); ok {
		t.Fatal("an error queue was declared")
	}
}

// A handler that always fails: after its attempts, the message is in
// <queue>_error with its body, properties and headers, and every header
// of the contract; the delivery is acked off its queue.
func TestFailure_DeadLetteredToTheErrorQueue(t *testing.T) {
	r := start(t, noPublishers)
	var calls atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "doomed", Queue: listener.QueueSpec{Name: "doomed-q", Durable: true}, Retry: fastRetry,
		Bindings: []listener.Binding{{Exchange: "doom-x", RoutingKey: "doom.key", Declare: true, Kind: "direct"}},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error {
			calls.Add(1)
			return errors.New("database says no to amqp://guest:secret@db/")
		}}}})
	ch := rawChannel(t, r.nb)
	publish(t, ch, "doom-x", "doom.key", amqp.Publishing{ContentType: "application/json", MessageId: "m-1", CorrelationId: "c-1",
		Headers: amqp.Table{"mine": "kept"}, Body: []byte(event("a", "b", "d1"))})
	row := waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 && l.InFlight == 0 })
	if row.Retried != 2 || row.Errors != 1 || row.Acked != 0 || row.Nacked != 0 {
		t.Fatalf("row %+v", row)
	}
	queueIs(t, r.nb, "doomed-q", 0, 0)
	d := getOne(t, r, ch, "doomed-q_error")
	checkDeadLetter(t, r, d, "doomed", "doomed-q", "doom-x", "doom.key", "database says no", 3)
	if e := d.Headers["x-warren-error"].(string); strings.Contains(e, "secret") {
		t.Errorf("the error header shows a password: %q", e)
	}
	if d.Headers["mine"] != "kept" || d.MessageId != "m-1" || d.CorrelationId != "c-1" || d.ContentType != "application/json" ||
		string(d.Body) != event("a", "b", "d1") {
		t.Fatalf("dead letter lost the original: %+v", d)
	}
	if q, _ := r.nb.Queue("doomed-q_error"); !q.Durable {
		t.Fatalf("error queue %+v is not durable", q)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times", n)
	}
}

// With a dead-letter exchange in the queue's args, the dead letter goes to
// that exchange: with the original routing key, or the queue's
// x-dead-letter-routing-key; no error queue is made.
func TestFailure_DeadLetteredToTheQueuesDLX(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)
	if err := ch.ExchangeDeclare("dlx", "direct", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"dlx-original", "dlx-set"} {
		if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.QueueBind("dlx-original", "with-dlx-a", "dlx", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("dlx-set", "to-set", "dlx", false, nil); err != nil {
		t.Fatal(err)
	}
	fail := []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return errors.New("nope") }}}
	for _, tc := range []struct{ queue, into string }{{"with-dlx-a", "dlx-original"}, {"with-dlx-b", "dlx-set"}} {
		args := amqp.Table{"x-dead-letter-exchange": "dlx"}
		if tc.into == "dlx-set" {
			args["x-dead-letter-routing-key"] = "to-set"
		}
		pid, _ := spawn(t, r.tree, listener.Spec{Name: tc.queue, Queue: listener.QueueSpec{Name: tc.queue, Args: args},
			Retry: listener.RetryPolicy{Attempts: 1}, Handlers: fail})
		publishJSON(t, ch, "", tc.queue, event("a", "b", tc.queue))
		waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 })
		queueIs(t, r.nb, tc.queue, 0, 0)
		d := getOne(t, r, ch, tc.into)
		checkDeadLetter(t, r, d, tc.queue, tc.queue, "", tc.queue, "nope", 1)
		if _, ok := r.nb.Queue(tc.queue + "_error"); ok {
			t.Fatalf("%s: an error queue was declared besides the DLX", tc.queue)
		}
	}
}

// OnError Requeue is bounded: a message that fails forever is requeued
// once (the default MaxRedeliveries), and dead-lettered when it comes back
// redelivered.
func TestFailure_RequeueIsBounded(t *testing.T) {
	r := start(t, noPublishers)
	var runs atomic.Int32
	deliveries := make(chan bool, 8)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "loop", Queue: listener.QueueSpec{Name: "loop-q"}, OnError: listener.Requeue,
		Retry: listener.RetryPolicy{Attempts: 2, Backoff: time.Millisecond},
		Raw: func(_ context.Context, d *listener.Delivery) error {
			if runs.Add(1)%2 == 1 {
				deliveries <- d.Redelivered
			}
			return errors.New("always")
		}})
	ch := rawChannel(t, r.nb)
	publish(t, ch, "", "loop-q", amqp.Publishing{Body: []byte("poison")})
	row := waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 && l.InFlight == 0 })
	if row.Requeued != 1 || row.Received != 2 || row.Retried != 2 || row.Errors != 2 {
		t.Fatalf("row %+v", row)
	}
	if recv(t, deliveries, time.Second, "first delivery") || !recv(t, deliveries, time.Second, "redelivery") {
		t.Fatal("want a first delivery then a redelivery")
	}
	select {
	case <-deliveries:
		t.Fatal("delivered a third time")
	default:
	}
	if n := runs.Load(); n != 4 {
		t.Fatalf("handler ran %d times, want 2 per delivery", n)
	}
	queueIs(t, r.nb, "loop-q", 0, 0)
	checkDeadLetter(t, r, getOne(t, r, ch, "loop-q_error"), "loop", "loop-q", "", "loop-q", "always", 2)
}

// A panic is not retried: the message goes straight to the dead-letter
// path, its error saying "panic: ...".
func TestFailure_PanicIsDeadLetteredWithoutRetry(t *testing.T) {
	r := start(t, noPublishers)
	var runs atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "boom", Queue: listener.QueueSpec{Name: "boom-q"}, Retry: fastRetry,
		Raw: func(context.Context, *listener.Delivery) error { runs.Add(1); panic("kaboom") }})
	ch := rawChannel(t, r.nb)
	publish(t, ch, "", "boom-q", amqp.Publishing{Body: []byte("x")})
	row := waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 })
	if row.Retried != 0 || row.Errors != 1 {
		t.Fatalf("row %+v", row)
	}
	checkDeadLetter(t, r, getOne(t, r, ch, "boom-q_error"), "boom", "boom-q", "", "boom-q", "panic: kaboom", 1)
	if n := runs.Load(); n != 1 {
		t.Fatalf("a panicking handler ran %d times", n)
	}
	if !strings.Contains(r.logs.String(), "handler panicked") {
		t.Fatal("the panic is not logged")
	}
}

// Under the default policy, malformed JSON and a non-JSON payload without
// a raw handler are dead-lettered, their error saying why (no handler ran:
// 0 attempts).
func TestFailure_UnreadablePayloadsAreDeadLettered(t *testing.T) {
	r := start(t, noPublishers)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "picky", Queue: listener.QueueSpec{Name: "picky-q"},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	ch := rawChannel(t, r.nb)
	publishJSON(t, ch, "", "picky-q", `{"Event-Category": "broken",`)
	waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 && l.Rejected == 1 })
	checkDeadLetter(t, r, getOne(t, r, ch, "picky-q_error"), "picky", "picky-q", "", "picky-q", "malformed JSON payload", 0)
	publish(t, ch, "", "picky-q", amqp.Publishing{ContentType: "text/plain", Body: []byte("hello")})
	waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 2 && l.Rejected == 2 })
	checkDeadLetter(t, r, getOne(t, r, ch, "picky-q_error"), "picky", "picky-q", "", "picky-q", `non-JSON payload (content type "text/plain")`, 0)
	queueIs(t, r.nb, "picky-q", 0, 0)
}

// A dead letter the broker does not take (its DLX is missing: the broker
// closes the channel) is not lost: the message stays on its queue.
func TestFailure_UnconfirmedDeadLetterIsRequeued(t *testing.T) {
	r := start(t, noPublishers)
	failed := make(chan struct{}, 64)
	spawn(t, r.tree, listener.Spec{Name: "nodlx", Queue: listener.QueueSpec{Name: "nodlx-q", Args: amqp.Table{"x-dead-letter-exchange": "missing"}},
		Retry: listener.RetryPolicy{Attempts: 1},
		Raw: func(context.Context, *listener.Delivery) error {
			select {
			case failed <- struct{}{}:
			default:
			}
			return errors.New("fails")
		}})
	publish(t, rawChannel(t, r.nb), "", "nodlx-q", amqp.Publishing{Body: []byte("keep me")})
	recv(t, failed, 5*time.Second, "a run")
	recv(t, failed, 5*time.Second, "a run after the channel was replaced") // redelivered: it was not lost
	if err := r.tree.StopListener(within(t, 5*time.Second), "nodlx"); err != nil {
		t.Fatal(err)
	}
	queueIs(t, r.nb, "nodlx-q", 1, 0)
}

// A handler failing while its listener stops (its ctx ended) is neither
// retried nor dead-lettered: the message is nacked with requeue. A retry
// wait ends with the stop.
func TestFailure_StopEndsTheRetryWaitAndRequeues(t *testing.T) {
	r := start(t, noPublishers)
	failed := make(chan struct{}, 1)
	spawn(t, r.tree, listener.Spec{Name: "patient", Queue: listener.QueueSpec{Name: "patient-q"},
		Retry: listener.RetryPolicy{Attempts: 5, Backoff: time.Hour, MaxBackoff: time.Hour},
		Raw: func(context.Context, *listener.Delivery) error {
			failed <- struct{}{}
			return errors.New("fails")
		}})
	publish(t, rawChannel(t, r.nb), "", "patient-q", amqp.Publishing{Body: []byte("x")})
	recv(t, failed, 5*time.Second, "the first run")
	queueIs(t, r.nb, "patient-q", 0, 1) // waiting an hour for its second run
	if err := r.tree.StopListener(within(t, 5*time.Second), "patient"); err != nil {
		t.Fatal(err)
	}
	queueIs(t, r.nb, "patient-q", 1, 0)
	if _, ok := r.nb.Queue("patient-q_error"); ok {
		t.Fatal("dead-lettered while stopping")
	}
}

// A message failing again and again is logged at a bounded rate: at most
// 10 "handler failed" lines per listener in 10 s, not one per delivery.
func TestFailure_FailuresAreLoggedAtABoundedRate(t *testing.T) {
	const n = 60
	r := start(t, noPublishers)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "noisy", Queue: listener.QueueSpec{Name: "noisy-q"}, OnError: listener.Discard,
		Retry: listener.RetryPolicy{Attempts: 1}, Raw: func(context.Context, *listener.Delivery) error { return errors.New("noise") }})
	ch := rawChannel(t, r.nb)
	t0 := time.Now()
	for i := range n {
		publish(t, ch, "", "noisy-q", amqp.Publishing{Body: fmt.Appendf(nil, "m%d", i)})
	}
	waitRow(t, r.tree, pid.Id, "all failed", func(l registry.Listener) bool { return l.Errors == n && l.Nacked == n })
	// 10 lines per 10 s window: on a machine slow enough for the 60 to
	// span several windows, 10 per window begun.
	windows := int(time.Since(t0)/(10*time.Second)) + 1
	if lines := strings.Count(r.logs.String(), `msg="handler failed"`); windows == 1 && lines != 10 || lines > 10*windows {
		t.Fatalf("%d failures in %d log windows logged %d lines, want 10 per window", n, windows, lines)
	}
}
