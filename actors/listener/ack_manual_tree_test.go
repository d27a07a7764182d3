package listener_test

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// manualSpec is a listener under AckManual on queue name whose one route
// is h.
func manualSpec(name string, h listener.Handler) listener.Spec {
	return listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name}, Ack: listener.AckManual,
		Retry: fastRetry, Handlers: []listener.Route{{Handler: h}}}
}

// Under AckManual the handler's Ack, Nack and Reject reach the broker, each
// once: a second decision returns ErrSettled, and an error returned after
// deciding is counted, not acted on.
func TestAckManual_HandlerDecides(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)

	t.Run("ack, then a second ack and an error", func(t *testing.T) {
		second := make(chan error, 1)
		pid, _ := spawn(t, r.tree, manualSpec("man-ack", func(_ context.Context, d *listener.Delivery) error {
			if err := d.Ack(); err != nil {
				return err
			}
			second <- d.Nack(true)
			return errors.New("late failure")
		}))
		publishJSON(t, ch, "", "man-ack", event("a", "b", "x"))
		if err := recv(t, second, 5*time.Second, "second decision"); !errors.Is(err, listener.ErrSettled) {
			t.Fatalf("second decision = %v, want ErrSettled", err)
		}
		row := waitRow(t, r.tree, pid.Id, "acked", func(l registry.Listener) bool { return l.Acked == 1 && l.InFlight == 0 })
		if row.Errors != 1 || row.Nacked+row.Requeued+row.DeadLettered+row.Retried != 0 {
			t.Fatalf("row %+v: the error after the ack must be counted only", row)
		}
		queueIs(t, r.nb, "man-ack", 0, 0)
	})

	t.Run("nack with requeue, then ack the redelivery", func(t *testing.T) {
		pid, _ := spawn(t, r.tree, manualSpec("man-nack", func(_ context.Context, d *listener.Delivery) error {
			if !d.Redelivered {
				return d.Nack(true)
			}
			return d.Ack()
		}))
		publishJSON(t, ch, "", "man-nack", event("a", "b", "x"))
		row := waitRow(t, r.tree, pid.Id, "nacked then acked", func(l registry.Listener) bool {
			return l.Received == 2 && l.Acked == 1 && l.InFlight == 0
		})
		if row.Nacked != 1 || row.Requeued != 1 || row.Errors != 0 {
			t.Fatalf("row %+v", row)
		}
		queueIs(t, r.nb, "man-nack", 0, 0)
	})

	t.Run("reject", func(t *testing.T) {
		nacks := r.nb.Stats().Nacked
		pid, _ := spawn(t, r.tree, manualSpec("man-reject", func(_ context.Context, d *listener.Delivery) error {
			return d.Reject()
		}))
		publishJSON(t, ch, "", "man-reject", event("a", "b", "x"))
		row := waitRow(t, r.tree, pid.Id, "rejected", func(l registry.Listener) bool { return l.Rejected == 1 && l.InFlight == 0 })
		if row.Acked+row.Nacked+row.DeadLettered != 0 {
			t.Fatalf("row %+v", row)
		}
		queueIs(t, r.nb, "man-reject", 0, 0)
		if n := r.nb.Stats().Nacked - nacks; n != 1 {
			t.Fatalf("the broker saw %d rejects, want 1", n)
		}
	})

	t.Run("outside AckManual the methods refuse", func(t *testing.T) {
		got := make(chan error, 1)
		pid, _ := spawn(t, r.tree, listener.Spec{Name: "not-manual", Queue: listener.QueueSpec{Name: "not-manual"},
			Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error { got <- d.Ack(); return nil }}}})
		publishJSON(t, ch, "", "not-manual", event("a", "b", "x"))
		if err := recv(t, got, 5*time.Second, "Ack's answer"); !errors.Is(err, listener.ErrNotManual) {
			t.Fatalf("Ack under AckAfterHandler = %v, want ErrNotManual", err)
		}
		waitRow(t, r.tree, pid.Id, "acked by the listener once", func(l registry.Listener) bool { return l.Acked == 1 && l.InFlight == 0 })
		queueIs(t, r.nb, "not-manual", 0, 0)
	})
}

// Two routes of one delivery both try to ack it: the first wins, the other
// gets ErrSettled, and the broker sees one ack.
func TestAckManual_OneDecisionAcrossRoutes(t *testing.T) {
	r := start(t, noPublishers)
	answers := make(chan error, 2)
	ack := func(_ context.Context, d *listener.Delivery) error { answers <- d.Ack(); return nil }
	spec := manualSpec("man-two", ack)
	spec.Handlers = append(spec.Handlers, listener.Route{Category: "a", Handler: ack})
	pid, _ := spawn(t, r.tree, spec)
	ch := rawChannel(t, r.nb)
	acks := r.nb.Stats().Acked
	publishJSON(t, ch, "", "man-two", event("a", "b", "x"))
	a, b := recv(t, answers, 5*time.Second, "first Ack"), recv(t, answers, 5*time.Second, "second Ack")
	if (a == nil) == (b == nil) || !errors.Is(errors.Join(a, b), listener.ErrSettled) {
		t.Fatalf("Acks = %v, %v; want one nil and one ErrSettled", a, b)
	}
	waitRow(t, r.tree, pid.Id, "acked once", func(l registry.Listener) bool { return l.Acked == 1 && l.InFlight == 0 })
	queueIs(t, r.nb, "man-two", 0, 0)
	if n := r.nb.Stats().Acked - acks; n != 1 {
		t.Fatalf("the broker saw %d acks, want 1", n)
	}
}

// A handler that returns nil without deciding: the message is requeued
// once; undecided again on its redelivery, it is dead-lettered (OnError's
// default) with the reason. A handler error without a decision is retried,
// then dead-lettered, as under AckAfterHandler.
func TestAckManual_UndecidedRequeuedOnceThenFailurePolicy(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)
	seen := make(chan bool, 4)
	pid, _ := spawn(t, r.tree, manualSpec("man-none", func(_ context.Context, d *listener.Delivery) error {
		seen <- d.Redelivered
		return nil
	}))
	publishJSON(t, ch, "", "man-none", event("a", "b", "x"))
	if recv(t, seen, 5*time.Second, "first run") || !recv(t, seen, 5*time.Second, "the redelivery") {
		t.Fatal("want a first delivery, then a redelivery")
	}
	row := waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 && l.InFlight == 0 })
	if row.Requeued != 1 || row.Acked != 0 {
		t.Fatalf("row %+v: want one requeue, then the dead letter", row)
	}
	checkDeadLetter(t, r, getOne(t, r, ch, "man-none_error"), "man-none", "man-none", "", "man-none", "without acking", 1)
	queueIs(t, r.nb, "man-none", 0, 0)

	pid, _ = spawn(t, r.tree, manualSpec("man-err", func(context.Context, *listener.Delivery) error {
		return errors.New("db down")
	}))
	publishJSON(t, ch, "", "man-err", event("a", "b", "y"))
	row = waitRow(t, r.tree, pid.Id, "dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 && l.InFlight == 0 })
	if row.Retried != 2 || row.Requeued != 0 {
		t.Fatalf("row %+v: want two retries, then the dead letter", row)
	}
	checkDeadLetter(t, r, getOne(t, r, ch, "man-err_error"), "man-err", "man-err", "", "man-err", "db down", 3)
}

// A drain lets a running AckManual handler finish and settle its delivery
// itself; what no handler started goes back to the queue.
func TestAckManual_DrainLetsTheHandlerSettle(t *testing.T) {
	r := start(t, noPublishers)
	g, started := make(gate), make(chan struct{}, 4)
	acked := make(chan error, 4)
	spec := manualSpec("man-drain", func(ctx context.Context, d *listener.Delivery) error {
		started <- struct{}{}
		if err := g.wait(context.Background()); err != nil {
			return err
		}
		acked <- d.Ack()
		return nil
	})
	spec.Workers = 1
	pid, _ := spawn(t, r.tree, spec)
	ch := rawChannel(t, r.nb)
	for range 3 {
		publish(t, ch, "", "man-drain", amqp.Publishing{ContentType: "application/json", Body: []byte(event("a", "b", "d"))})
	}
	recv(t, started, 5*time.Second, "the handler")
	queueIs(t, r.nb, "man-drain", 0, 3)
	d := &drainRig{rig: r, pid: pid.Id}
	answer := d.drain(t, time.Now().Add(time.Minute))
	queueIs(t, r.nb, "man-drain", 2, 1) // the two not started are back
	close(g)
	if err := recv(t, acked, 5*time.Second, "the handler's ack"); err != nil {
		t.Fatalf("Ack during the drain: %v", err)
	}
	got := recv(t, answer, 10*time.Second, "Drained")
	if want := (listener.Drained{Listener: "man-drain", Requeued: 2, Finished: 1}); *got != want {
		t.Fatalf("Drained = %+v, want %+v", *got, want)
	}
	queueIs(t, r.nb, "man-drain", 2, 0)
}
