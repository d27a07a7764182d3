package listener

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Drain asks a listener to stop taking deliveries without losing or
// repeating any: it cancels its consumer (basic.cancel), gives back to the
// broker every delivery no handler has started (nack with requeue: the
// prefetched ones, and those that arrive before the cancel takes effect),
// and lets the running handlers finish and settle their deliveries on the
// channel they came from. At Deadline, the handlers still running have
// their ctx cancelled; a delivery whose handler then ends with an error is
// requeued, never rejected or dead-lettered. The listener stays in the tree,
// drained (state "drained"), until it is stopped; the reply is *Drained.
// Tree.Shutdown and Tree.StopListener drain before they stop.
//
// A listener acking on arrival (AckAuto) has nothing to give back: its
// prefetched deliveries are acked already, so they are handled.
type Drain struct {
	Deadline time.Time // when running handlers are cut; zero: never
}

// Drained answers Drain once the listener's consumer ended and no handler
// runs.
type Drained struct {
	Listener string // its name
	Requeued int    // deliveries given back to the broker unhandled
	Finished int    // handlers that ran to their end during the drain
	Cut      int    // handlers whose ctx the drain cancelled at its deadline
}

// ErrDrainCut is wrapped by an error that says a drain ran out of time:
// handlers were cancelled (their deliveries requeued) or something was
// still in flight when the caller's ctx ended.
var ErrDrainCut = errors.New("warren: drain cut short")

// cancelGrace bounds how long a drain with no handler running waits for
// the broker to confirm the consumer's cancel.
const cancelGrace = time.Second

// drainWatch is what the actor keeps of a drain (the FSM knows whether one
// runs): who asked, answered once drained.
type drainWatch struct {
	waiters []*actor.PID
}

// drainDone reports, from the drain's watcher, that the consumer ended and
// no handler runs any more.
type drainDone struct{ result Drained }

// draining reports whether a drain has begun.
func (s *listenerShared) draining() bool {
	select {
	case <-s.drainStarted:
		return true
	default:
		return false
	}
}

// wakeDrain tells the drain's watcher to look again (a handler or a
// forwarder ended); it never blocks.
func (s *listenerShared) wakeDrain() {
	select {
	case s.drainWake <- struct{}{}:
	default:
	}
}

// beginDrain begins the drain: from now on no delivery starts a handler,
// the consumer of the current channel is cancelled (when cancel: one may
// run), and a watcher waits for the forwarders and handlers to end (cutting
// the handlers at deadline).
func (l *listener) beginDrain(deadline time.Time, cancel bool) {
	s := l.shared
	requeued0, handled0 := s.counter.requeued.Load(), s.counter.handled.Load()
	if cancel {
		l.startCancelConsumer() // first: a delivery requeued from now on waits for its cancel-ok
	}
	close(s.drainStarted)
	l.stopTimer()
	l.log.Info("draining", "queue", s.queueName(), "deadline", deadline.Format(time.RFC3339Nano))
	env, self := l.env, s.self
	env.Go(func() {
		var cutTimer <-chan time.Time
		if !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			cutTimer = t.C
		}
		grace := time.NewTimer(cancelGrace)
		defer grace.Stop()
		cut, past, graceOver := 0, false, false
		for {
			// Done once no handler runs and the consumer ended — or no
			// handler runs and the broker has not confirmed the cancel
			// within cancelGrace (a frozen or dying connection), or the
			// deadline passed: what the consumer still holds or receives
			// is unacked, and the broker requeues it when the stop closes
			// the channel.
			if s.counter.inFlight.Load() == 0 && (past || graceOver || s.forwarding.Load() == 0 && !s.setupPending.Load()) {
				break
			}
			select {
			case <-grace.C:
				graceOver = true
			case <-s.drainWake:
			case <-cutTimer:
				cutTimer, past = nil, true
				if n := int(s.counter.inFlight.Load()); n > 0 {
					cut = n
					s.log.Warn("drain deadline passed: cancelling running handlers (their deliveries are requeued)", "queue", s.queueName(), "handlers", n)
				}
				s.hcancel()
			case <-s.ctx.Done():
				env.Send(self, &drainDone{result: Drained{Listener: s.listenerName(), Cut: cut}})
				return
			}
		}
		env.Send(self, &drainDone{result: Drained{
			Listener: s.listenerName(),
			Requeued: int(s.counter.requeued.Load() - requeued0),
			Finished: max(int(s.counter.handled.Load()-handled0)-cut, 0),
			Cut:      cut,
		}})
	})
}

// awaitCancelled waits, before a delivery is given back during a drain,
// until the broker confirmed the consumer's cancel: a delivery requeued
// earlier would come straight back to the same consumer.
func (s *listenerShared) awaitCancelled() {
	c := s.cancelled.Load()
	if c == nil {
		return
	}
	select {
	case <-*c:
	case <-s.ctx.Done():
	}
}

// doDrained answers every waiter of the drain.
func (l *listener) doDrained(_ actor.Context, e effect) {
	for _, to := range l.drain.waiters {
		r := e.result
		l.answer(to, &r)
	}
	l.drain.waiters = nil
}
