package listener

import (
	"github.com/warrenmq/warren/actors"
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
// moveDone reports, from the move's watcher, that nothing runs any more on
// the retired channel of gen.
type moveDone struct{ gen uint64 }

// retired reports whether deliveries of channel generation gen may no
// longer start a handler: the listener drains, or a move retires that
// channel.
func (s *listenerShared) retired(gen uint64) bool {
	return s.draining() || s.retiring.Load() == gen
}

// beginMove retires the channel of gen for to (the consumer's cancel is
// an effect of its own, before): no delivery of gen starts a handler from
// now on, and a watcher reports moveDone once nothing runs on it.
func (l *listener) beginMove(gen uint64, to *actors.ChannelAssigned) {
	s := l.shared
	l.log.Info("moving to another broker: retiring the channel", "queue", s.queueName(), "from", s.brokerID(), "to", to.Broker)
	s.retiring.Store(gen)
	if l.retire != nil {
		close(l.retire)
		l.retire = nil
	}
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

// giveBack releases channel id to the assignments actor.
func (l *listener) giveBack(id string) {
	l.env.Send(l.env.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: l.shared.self, ID: id})
}
