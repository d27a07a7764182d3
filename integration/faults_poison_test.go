package integration

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
)

// A poison message among a flow of good ones: its handler always fails
// (until the bug is "fixed"), the others keep flowing; after the
// configured attempts it ends in the listener's error queue with the error
// in its headers; `warren errors` lists it, and once the handler is fixed,
// `warren errors --requeue` sends it back and it is handled.
func TestFault_PoisonMessageEndsInTheErrorQueueAndGoesBack(t *testing.T) {
	const attempts = 3
	var runs atomic.Int32
	var fixed atomic.Bool
	handled := make(chan amqp.Table, 1)
	poison := listener.Route{Category: "poison", Handler: func(_ context.Context, d *listener.Delivery) error {
		runs.Add(1)
		if !fixed.Load() {
			return errors.New("cannot parse order total: strconv.ParseFloat: parsing \"12,50\"")
		}
		handled <- d.Headers
		return nil
	}}
	r := newFaultRig(t, "poison message", withSpec(func(s *listener.Spec) {
		s.Retry = listener.RetryPolicy{Attempts: attempts, Backoff: 20 * time.Millisecond}
		s.Handlers = append(s.Handlers, poison)
	}))
	errQueue := r.queue + "_error"
	stop := r.load(2, 0, 2*time.Second)
	r.confirmedMore(t, 100, 20*time.Second, "confirmed publishes flowing")

	began := time.Now()
	err := r.raw.PublishWithContext(within(t, 5*time.Second), faultExchange, "order.poison", false, false, amqp.Publishing{
		ContentType: "application/json", MessageId: "poison-1", DeliveryMode: amqp.Persistent,
		Body: []byte(`{"Event-Category":"poison","Event-Name":"order","Msg-ID":"poison-1","Total":"12,50"}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitListener(t, r.tree, r.listener.Id, 20*time.Second, "the poison message dead-lettered", func(l registry.Listener) bool {
		return l.DeadLettered == 1
	})
	deadLettered := time.Since(began)
	if c := queueCountsOf(t, r.b, errQueue); c != "1 0" { // the broker's own view
		t.Fatalf("%s holds %s (ready unacked), want 1 0", errQueue, c)
	}
	if n := runs.Load(); n != attempts {
		t.Fatalf("the poison message's handler ran %d times, want %d (Retry.Attempts)", n, attempts)
	}
	// The others kept flowing meanwhile, and keep flowing.
	r.confirmedMore(t, 100, 20*time.Second, "confirmed publishes after the poison message")
	row, _ := r.tree.Registry().Listener(r.listener.Id)
	if row.DeadLettered != 1 || row.Retried != attempts-1 {
		t.Fatalf("listener row: dead-lettered %d, retried %d; want 1, %d", row.DeadLettered, row.Retried, attempts-1)
	}

	// warren errors lists it with the error, the listener, the attempts
	// and where it came from, and leaves it in the queue.
	code, out, stderr := runWarren(t, "errors", errQueue, "--url", r.b.URI(), "--json")
	if code != 0 {
		t.Fatalf("warren errors: exit %d\n%s\n%s", code, out, stderr)
	}
	var listed []struct {
		Listener, Queue, Error string
		Attempts               int64
		Exchange               string `json:"original_exchange"`
		Key                    string `json:"original_routing_key"`
		MessageID              string `json:"message_id"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("warren errors --json: %v\n%s", err, out)
	}
	if len(listed) != 1 {
		t.Fatalf("warren errors listed %d messages, want 1:\n%s", len(listed), out)
	}
	got := listed[0]
	if got.Listener != "faults" || got.Queue != r.queue || got.Attempts != attempts || got.Exchange != faultExchange ||
		got.Key != "order.poison" || got.MessageID != "poison-1" || !strings.Contains(got.Error, "cannot parse order total") {
		t.Fatalf("warren errors listed %+v", got)
	}
	if c := queueCountsOf(t, r.b, errQueue); c != "1 0" {
		t.Fatalf("listing consumed the error queue: %s", c)
	}

	// The fix is deployed; --requeue sends it back where it came from.
	fixed.Store(true)
	code, out, stderr = runWarren(t, "errors", errQueue, "--url", r.b.URI(), "--requeue")
	if code != 0 {
		t.Fatalf("warren errors --requeue: exit %d\n%s\n%s", code, out, stderr)
	}
	headers := recv(t, handled, 20*time.Second, "the requeued poison message handled")
	if n, _ := headers["x-warren-requeued"].(int32); n != 1 {
		t.Fatalf("the requeued message carries x-warren-requeued %v, want 1 (headers %v)", headers["x-warren-requeued"], headers)
	}
	for k := range headers {
		if strings.HasPrefix(k, "x-warren-") && k != "x-warren-requeued" {
			t.Fatalf("the requeued message still carries %s", k)
		}
	}
	testkit.Poll(t, 10*time.Second, errQueue+" empty", func() bool { return queueCountsOf(t, r.b, errQueue) == "0 0" })
	// Handled, not failed again: one delivery failed (its 3 runs), one
	// dead letter, and nothing else in the error queue.
	if row, _ := r.tree.Registry().Listener(r.listener.Id); row.DeadLettered != 1 || row.Errors != 1 {
		t.Fatalf("listener row after the requeue: dead-lettered %d, errors %d; want 1, 1", row.DeadLettered, row.Errors)
	}
	r.l.setRecovery(deadLettered)
	r.l.notef("the poison message ran %d times and was in %s %v after it was published (recovery) while the flow went on; warren errors listed it; --requeue sent it back and the fixed handler took it",
		attempts, errQueue, deadLettered.Round(time.Millisecond))
	r.finish(t, stop)
}
