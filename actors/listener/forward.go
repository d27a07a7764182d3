package listener

import (
	amqp "github.com/rabbitmq/amqp091-go"
)

// forward moves deliveries from the channel to the worker pool until the
// consumer ends (channel closed, or cancelled by the broker). The same
// goroutine drains the channel's consumer-cancel notifications, also while
// it waits for a free worker, so that a cancel is acted on at once; the
// closing of the deliveries chan that follows a cancel ends it.
func (l *listener) forward(gen, setup uint64, deliveries <-chan amqp.Delivery, cancels <-chan string) {
	pool, env, self, done, s, log := l.pool, l.env, l.shared.self, l.shared.ctx.Done(), l.shared, l.log
	l.retire = make(chan struct{})
	f := forwarder{cancels: cancels, retired: l.retire, mine: s.spec.Consume.Tag, cancelled: func() {
		log.Debug("broker cancelled consumer", "tag", s.spec.Consume.Tag, "gen", gen)
		env.Send(self, &brokerCancelled{gen: gen, setup: setup})
	}}
	s.forwarding.Add(1)
	go func() {
		defer func() {
			s.forwarding.Add(-1)
			s.wakeDrain()
		}()
		for {
			select {
			case d, ok := <-deliveries:
				if !ok {
					f.drain() // amqp091 notifies the cancel before it closes deliveries
					env.Send(self, &consumeEnded{gen: gen, setup: setup})
					return
				}
				if s.spec.Ack == AckAuto { // acked as it arrives: the prefetch still bounds the buffer
					s.ackOnArrival(d, gen)
				} else if s.retired(gen) {
					s.requeue(d, gen) // prefetched, or sent before the cancel took effect
					continue
				}
				pool.dispatch(d, gen, &f)
			case tag, ok := <-f.cancels:
				f.cancel(tag, ok)
			case <-done:
				return
			}
		}
	}()
}

// forwarder is what a forwarding goroutine watches besides deliveries: the
// channel's consumer-cancel notifications.
type forwarder struct {
	cancels   <-chan string   // nil once closed (the channel closed)
	retired   <-chan struct{} // closed when a move retires the channel
	mine      string          // the listener's consumer tag
	cancelled func()          // reports the broker's cancel of mine
}

// cancel handles a receive from cancels.
func (f *forwarder) cancel(tag string, ok bool) {
	switch {
	case !ok:
		f.cancels = nil
	case tag == f.mine:
		f.cancelled()
	}
}

// drain empties cancels without blocking: the consumer ended, and its
// consumeEnded stands for a cancel still queued.
func (f *forwarder) drain() {
	for f.cancels != nil {
		select {
		case _, ok := <-f.cancels:
			if !ok {
				f.cancels = nil
			}
		default:
			return
		}
	}
}
