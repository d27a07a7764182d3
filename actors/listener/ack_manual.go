package listener

import (
	"context"
	"errors"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Errors of Delivery.Ack, Nack and Reject.
var (
	// ErrNotManual is returned when the listener's Ack policy is not
	// AckManual: Warren settles its deliveries itself.
	ErrNotManual = errors.New("warren: the listener settles this delivery itself (Spec.Ack is not AckManual)")
	// ErrSettled is returned when the delivery was acked, nacked or
	// rejected already, by this handler, another route of the same
	// delivery, or by the listener once its handlers returned.
	ErrSettled = errors.New("warren: delivery already settled")
	// ErrStaleDelivery is returned when the delivery's channel is gone:
	// the broker requeued the message when it closed.
	ErrStaleDelivery = errors.New("warren: delivery's channel is gone (the broker requeued the message)")
	// errUnsettled is the failure of a handler that returned without
	// settling its delivery under AckManual.
	errUnsettled = errors.New("handler returned without acking, nacking or rejecting the delivery (AckManual)")
)

// settlement is the decision on one delivery under AckManual, shared by
// the copies of its Delivery that its routes get: the first to decide
// wins. Safe for concurrent use.
type settlement struct {
	decided atomic.Bool
	d       amqp.Delivery
	gen     uint64
	s       *listenerShared
}

// take claims the decision; false if someone decided already.
func (st *settlement) take() bool { return st.decided.CompareAndSwap(false, true) }

// Ack acknowledges the delivery (AckManual only). It is the one decision on
// this delivery: a second Ack, Nack or Reject, from any route, returns
// ErrSettled. Decide before the handler returns: once all handlers
// returned, the listener settles an undecided delivery itself.
func (d *Delivery) Ack() error {
	return d.decide(func(st *settlement) bool {
		ok := st.s.writeAck(st.gen, st.d)
		if ok {
			st.s.counter.acked.Add(1)
		}
		return ok
	})
}

// Nack gives the delivery back to the broker (requeue) or drops it, to the
// queue's dead-letter exchange if it has one (AckManual only; see Ack).
func (d *Delivery) Nack(requeue bool) error {
	return d.decide(func(st *settlement) bool {
		ok := st.s.writeOther(st.gen, st.d, func() error { return st.d.Nack(false, requeue) })
		if ok {
			st.s.counter.nacked.Add(1)
			if requeue {
				st.s.counter.requeued.Add(1)
			}
		}
		return ok
	})
}

// Reject rejects the delivery without requeue: the broker drops it, or
// dead-letters it when the queue has a dead-letter exchange (AckManual
// only; see Ack).
func (d *Delivery) Reject() error {
	return d.decide(func(st *settlement) bool {
		ok := st.s.writeOther(st.gen, st.d, func() error { return st.d.Reject(false) })
		if ok {
			st.s.counter.rejected.Add(1)
		}
		return ok
	})
}

func (d *Delivery) decide(write func(*settlement) bool) error {
	st := d.settlement
	if st == nil {
		return ErrNotManual
	}
	if !st.take() {
		return ErrSettled
	}
	defer st.s.touch()
	if !write(st) {
		return ErrStaleDelivery
	}
	return nil
}

// settled reports whether a handler decided on d (AckManual).
func (d *Delivery) settled() bool { return d.settlement != nil && d.settlement.decided.Load() }

// settleManual settles, under AckManual, a delivery whose handlers all
// returned. One that a handler decided on is left alone (an error its
// handler returned after deciding is only counted and logged). An
// undecided one is the listener's: after a handler error, Retry and
// OnError apply as under AckAfterHandler; after a handler that returned nil
// without deciding, the message is requeued once (nack with requeue), and
// when it comes back undecided (it was redelivered Retry.MaxRedeliveries
// times already) OnError applies: dead-lettered by default, with the
// reason.
func (s *listenerShared) settleManual(hctx context.Context, d amqp.Delivery, del *Delivery, gen uint64, o outcome) {
	if !del.settlement.take() {
		if o.err != nil && !o.panicked {
			s.logFailure(del, o.err, o.runs, "nothing: the handler settled it")
		}
		return
	}
	if o.err != nil {
		s.failed(hctx, d, del, gen, o.err, o.panicked, o.runs)
		return
	}
	if s.stopping(hctx) || !redeliveredEnough(d, s.spec.Retry.MaxRedeliveries) {
		s.logs.failures().Warn(s.log, "handler returned without settling the delivery (AckManual); message requeued",
			"queue", del.Queue, "routing_key", del.RoutingKey)
		s.nack(d, gen, true)
		return
	}
	s.failed(hctx, d, del, gen, errUnsettled, false, o.runs)
}
