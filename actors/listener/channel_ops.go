package listener

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/internal/redact"
)

// channelOps runs a listener's topology operations on its channels — the
// replays, the binds of bindings added during one, run-time binds and
// unbinds, consumer cancels — one after another, in the order the actor
// starts them: each runs in a goroutine of its own that waits for the one
// before to end. The actor never waits on the network and holds no lock
// over a broker round trip; what an operation finds comes back as a
// message (topologyDone, pendingBound, bindingApplied), tagged with what it
// was started for, so that a result the actor has moved on from changes
// nothing.
//
// Owner: the listener actor (one instance: a restarted one starts a new
// chain; the old one's operations end with their channel).
type channelOps struct {
	last chan struct{} // closed when the last operation started has ended; nil: none yet
}

// run starts op after the operations started before it; spawn starts the
// goroutine (go, or env.Go for one shutdown waits for).
func (o *channelOps) run(spawn func(func()), op func()) {
	prev, done := o.last, make(chan struct{})
	o.last = done
	spawn(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		op()
	})
}

// goroutine starts fn in a plain goroutine.
func goroutine(fn func()) { go fn() }

// bindingApplied reports the bind or unbind of a run-time binding change
// on the channel; to is who asked.
type bindingApplied struct {
	binding Binding
	add     bool
	existed bool // the binding was in the record before the change
	to      *actor.PID
	err     error
}

// startReplay replays the recorded topology on the channel of gen.
func (l *listener) startReplay(gen, setup uint64) {
	ch, known, cmds, spec, env, self := l.ch, l.known, append([]command(nil), l.fsm.Cmds...), l.shared.spec, l.env, l.shared.self
	l.shared.setupPending.Store(true)
	l.ops.run(goroutine, func() {
		queue, deliveries, unbound, err := replay(ch, *spec, cmds, known)
		env.Send(self, &topologyDone{gen: gen, setup: setup, queue: queue, deliveries: deliveries, unbound: unbound,
			replayed: bindingsOf(cmds), err: err})
	})
}

// startBindPending binds bindings, added during the replay of gen, on its
// channel; each reports with pendingBound.
func (l *listener) startBindPending(gen uint64, bindings []Binding) {
	ch, queue, env, self := l.ch, l.shared.queueName(), l.env, l.shared.self
	l.ops.run(goroutine, func() {
		for _, b := range bindings {
			err := bind(ch, queue, b)
			env.Send(self, &pendingBound{gen: gen, binding: b, err: err})
			if err != nil {
				return // the channel is closed: the next replay tries the rest
			}
		}
	})
}

// startApplyBinding binds or unbinds b on the channel for a run-time
// binding change; bindingApplied reports.
func (l *listener) startApplyBinding(e effect) {
	ch, queue, env, self := l.ch, l.shared.queueName(), l.env, l.shared.self
	l.ops.run(goroutine, func() {
		var err error
		if e.add {
			err = bind(ch, queue, e.binding)
		} else {
			err = ch.QueueUnbind(queue, e.binding.RoutingKey, e.binding.Exchange, e.binding.Args)
		}
		env.Send(self, &bindingApplied{binding: e.binding, add: e.add, existed: e.existed, to: e.to, err: err})
	})
}

// startCancelConsumer cancels the consumer of the current channel: the
// forwarder hands what is still buffered back to the broker, and ends when
// amqp091 closes the deliveries. Shutdown waits for it (env.Go).
func (l *listener) startCancelConsumer() {
	ch, tag, log, queue := l.ch, l.shared.spec.Consume.Tag, l.log, l.shared.queueName()
	cancelled := make(chan struct{})
	l.shared.cancelled.Store(&cancelled)
	l.ops.run(l.env.Go, func() {
		defer close(cancelled)
		if err := ch.Cancel(tag, false); err != nil {
			// The channel closed: the broker requeued what was unacked.
			log.Debug("drain: cancel consumer", "queue", queue, "err", redact.Error(err))
		}
	})
}
