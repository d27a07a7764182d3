package listener

import (
	"errors"
	"fmt"
	"time"

	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
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

// drainState is a listener's drain in progress, owned by the actor.
type drainState struct {
	waiters []func(*Drained) // who asked, answered once drained
	result  *Drained         // set once drained
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

// startDrain begins the drain: from now on no delivery starts a handler,
// the consumer of the current channel is cancelled, and a watcher waits for
// the forwarders and handlers to end (cutting the handlers at deadline).
func (l *listener) startDrain(deadline time.Time, answer func(*Drained)) {
	if l.drain != nil {
		if l.drain.result != nil {
			answer(&Drained{Listener: l.shared.listenerName()}) // drained before: nothing more was done
			return
		}
		l.drain.waiters = append(l.drain.waiters, answer)
		return
	}
	l.drain = &drainState{waiters: []func(*Drained){answer}}
	s := l.shared
	requeued0, handled0 := s.counter.requeued.Load(), s.counter.handled.Load()
	l.cancelConsumer() // first: a delivery requeued from now on waits for its cancel-ok
	close(s.drainStarted)
	l.stopTimer()
	l.log.Info("draining", "queue", s.queueName(), "deadline", deadline.Format(time.RFC3339Nano))
	l.setState(registry.ListenerDraining, "")
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

// cancelConsumer cancels the consumer of the current channel, if it
// consumes, in a goroutine: the forwarder hands what is still buffered back
// to the broker, and ends when amqp091 closes the deliveries.
func (l *listener) cancelConsumer() {
	if l.ch == nil || l.state != registry.ListenerConsuming && l.state != registry.ListenerDraining && l.state != registry.ListenerDeclaring {
		return
	}
	ch, tag, opMu, log, queue := l.ch, l.shared.spec.Consume.Tag, l.opMu, l.log, l.shared.queueName()
	cancelled := make(chan struct{})
	l.shared.cancelled.Store(&cancelled)
	l.env.Go(func() {
		opMu.Lock()
		defer opMu.Unlock()
		defer close(cancelled)
		if err := ch.Cancel(tag, false); err != nil {
			// The channel closed: the broker requeued what was unacked.
			log.Debug("drain: cancel consumer", "queue", queue, "err", redact.Error(err))
		}
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

// onDrainDone answers every waiter of the drain.
func (l *listener) onDrainDone(m *drainDone) {
	if l.drain == nil || l.drain.result != nil {
		return
	}
	r := m.result
	l.drain.result = &r
	l.log.Info("drained", "queue", l.shared.queueName(), "requeued", r.Requeued, "finished", r.Finished, "cut", r.Cut)
	why := ""
	if r.Cut > 0 {
		why = fmt.Sprintf("drain deadline passed: %d handlers cancelled, their deliveries requeued", r.Cut)
	}
	l.setState(registry.ListenerDrained, why)
	for _, answer := range l.drain.waiters {
		answer(&r)
	}
	l.drain.waiters = nil
}
