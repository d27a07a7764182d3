package listener

import (
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// A move is the listener's part of a broker drain (Tree.DrainBroker): the
// assignments actor gives it a channel on another broker of its zone while
// it still holds the old one (ChannelAssigned.MovedFrom). The listener
// retires the old channel as a drain does — its consumer cancelled, the
// deliveries no handler started given back once the cancel is confirmed,
// the running handlers let finish and acked there — and then replays its
// topology and consumes on the new channel, and gives the old one back.
// Nothing is lost or handled twice; the pause in consuming is the time of
// the handlers running at the move, not a reconnect.
type move struct {
	to  *actors.ChannelAssigned // the new channel
	gen uint64                  // the generation of the channel being retired
}

// moveDone reports, from the move's watcher, that nothing runs any more on
// the retired channel of gen.
type moveDone struct{ gen uint64 }

// retired reports whether deliveries of channel generation gen may no
// longer start a handler: the listener drains, or a move retires that
// channel.
func (s *listenerShared) retired(gen uint64) bool {
	return s.draining() || s.retiring.Load() == gen
}

// startMove begins retiring the current channel for to.
func (l *listener) startMove(to *actors.ChannelAssigned) {
	if l.move != nil { // a second move while one runs: the newest channel wins
		l.giveBack(l.move.to.ID)
		l.move.to = to
		return
	}
	s := l.shared
	if l.ch == nil || l.drain != nil || l.state != registry.ListenerConsuming {
		// Nothing consumes on the old channel: take the new one at once.
		old := l.chID
		l.adopt(to)
		if old != "" && old != to.ID {
			l.giveBack(old)
		}
		return
	}
	gen := s.current().gen
	l.move = &move{to: to, gen: gen}
	l.log.Info("moving to another broker: retiring the channel", "queue", s.queueName(), "from", s.brokerID(), "to", to.Broker)
	l.cancelConsumer()
	s.retiring.Store(gen)
	if l.retire != nil {
		close(l.retire)
		l.retire = nil
	}
	l.stopTimer()
	env, self := l.env, s.self
	env.Go(func() {
		for s.counter.inFlight.Load() != 0 || s.forwarding.Load() != 0 || s.setupPending.Load() {
			select {
			case <-s.drainWake:
			case <-s.ctx.Done():
				return
			}
		}
		env.Send(self, &moveDone{gen: gen})
	})
}

// onMoveDone takes the new channel once the old one is retired.
func (l *listener) onMoveDone(m *moveDone) {
	if l.move == nil || l.move.gen != m.gen {
		return
	}
	to, old := l.move.to, l.chID
	l.move = nil
	l.adopt(to)
	if old != "" && old != to.ID {
		l.giveBack(old)
	}
}

// giveBack releases channel id to the assignments actor.
func (l *listener) giveBack(id string) {
	l.env.Send(l.env.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: l.shared.self, ID: id})
}
