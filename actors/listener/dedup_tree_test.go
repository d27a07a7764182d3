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

// With Dedup, a delivery whose MessageId (else Msg-ID) was handled
// successfully is acked without running the handler and counted; one whose
// first copy failed runs; a delivery with neither key always runs.
func TestDedup_SuppressesHandledDuplicates(t *testing.T) {
	r := start(t, noPublishers)
	var runs atomic.Int32
	handled := make(chan string, 16)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "once", Queue: listener.QueueSpec{Name: "once-q"}, Workers: 1,
		Dedup: listener.DedupSpec{Window: time.Minute}, OnError: listener.Discard, Retry: listener.RetryPolicy{Attempts: 1},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			runs.Add(1)
			handled <- d.MessageID + "/" + d.Envelope.MsgID()
			if d.Envelope.Category() == "fail" {
				return errors.New("first copy fails")
			}
			return nil
		}}}})
	ch := rawChannel(t, r.nb)
	send := func(messageID, body string) {
		publish(t, ch, "", "once-q", amqp.Publishing{ContentType: "application/json", MessageId: messageID, Body: []byte(body)})
	}
	send("m-1", event("a", "b", "x"))
	send("m-1", event("a", "b", "y")) // same MessageId: suppressed
	send("", event("a", "b", "msg-7"))
	send("", event("a", "b", "msg-7")) // same Msg-ID, no MessageId: suppressed
	send("", event("a", "b", ""))
	send("", event("a", "b", "")) // no key: runs
	send("m-2", event("fail", "b", "z"))
	send("m-2", event("a", "b", "z")) // its first copy failed: runs
	row := waitRow(t, r.tree, pid.Id, "all settled", func(l registry.Listener) bool { return l.Received == 8 && l.InFlight == 0 })
	if row.Duplicates != 2 || row.Acked != 5 || row.Nacked != 1 || row.Errors != 1 {
		t.Fatalf("row %+v", row)
	}
	if n := runs.Load(); n != 6 {
		t.Fatalf("handler ran %d times, want 6", n)
	}
	queueIs(t, r.nb, "once-q", 0, 0)
}

// A duplicate arriving while the first copy is still handled waits for it,
// and is acked without running once it succeeded.
func TestDedup_DuplicateWaitsForTheRunningFirst(t *testing.T) {
	r := start(t, noPublishers)
	g, started := make(gate), make(chan struct{}, 4)
	var runs atomic.Int32
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "waits", Queue: listener.QueueSpec{Name: "waits-q"}, Workers: 2,
		Dedup: listener.DedupSpec{Window: time.Minute},
		Raw: func(ctx context.Context, _ *listener.Delivery) error {
			runs.Add(1)
			started <- struct{}{}
			return g.wait(ctx)
		}})
	ch := rawChannel(t, r.nb)
	publish(t, ch, "", "waits-q", amqp.Publishing{MessageId: "same", Body: []byte("1")})
	recv(t, started, 5*time.Second, "the first run")
	publish(t, ch, "", "waits-q", amqp.Publishing{MessageId: "same", Body: []byte("2")})
	waitRow(t, r.tree, pid.Id, "both in flight", func(l registry.Listener) bool { return l.InFlight == 2 })
	queueIs(t, r.nb, "waits-q", 0, 2)
	close(g)
	row := waitRow(t, r.tree, pid.Id, "settled", func(l registry.Listener) bool { return l.InFlight == 0 && l.Acked == 1 && l.Duplicates == 1 })
	if n := runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times; row %+v", n, row)
	}
	queueIs(t, r.nb, "waits-q", 0, 0)
}
