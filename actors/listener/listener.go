package listener

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// Re-setup backoff after a failed replay or a consumer cancelled by the
// broker on a channel that stays open.
const (
	resetupFirst = 100 * time.Millisecond
	resetupMax   = 5 * time.Second
)

// listener consumes one queue and dispatches its deliveries to handlers:
// Kazoo's gen_listener. It asks the assignments actor for a channel, replays
// its recorded topology on every channel it is given, and hands deliveries
// to a bounded worker pool straight from a forwarding goroutine.
//
// Its decisions are listenerFSM's (listener_fsm.go): Receive translates a
// message into an event, steps the FSM and carries out the effects
// (listener_effects.go).
//
// Owner:    its mailbox; listenerShared holds what delivery goroutines touch.
// Writes:   its own listeners row.
// Blocking: replays, run-time binds and consumer cancels run in goroutines,
// .         one after another (ops), and report back with messages;
// .         deliveries never pass through the mailbox.
type listener struct {
	env    *actors.Env
	shared *listenerShared
	log    *slog.Logger
	cancel context.CancelFunc
	pool   *workers
	fsm    listenerFSM

	ops     channelOps
	ch      *amqp.Channel
	known   *actors.ExchangeSet    // the exchanges ch's connection declared: the replay need not check them
	cancels <-chan string          // ch's consumer-cancel notifications, drained by its forwarders
	state   registry.ListenerState // the state the row shows
	lastErr string
	since   time.Time
	timer   *time.Timer
	drain   drainWatch    // who waits for the drain's end
	retire  chan struct{} // closed by a move: the current forwarder's deliveries start no handler
}

// Messages of the listener protocol.

// AddBinding binds the listener's queue at run time; it is recorded and
// replayed after every reconnect. The reply is *BindingChanged.
type AddBinding struct{ Binding Binding }

// RemoveBinding unbinds and forgets a binding. The reply is *BindingChanged.
type RemoveBinding struct{ Binding Binding }

// BindingChanged answers AddBinding and RemoveBinding. Err is nil when the
// change is recorded and, if the listener was consuming, applied.
type BindingChanged struct{ Err error }

// topologyDone reports the end of a replay on the channel of gen (replay
// setup): the queue declared and its deliveries, or the command that failed.
type topologyDone struct {
	gen, setup uint64
	queue      string
	deliveries <-chan amqp.Delivery
	unbound    []Binding // pending unbinds the replay applied
	replayed   []Binding // the bindings of the record the replay ran
	err        error
}

// pendingBound reports a binding added while the listener was declaring,
// bound once the replay that did not include it was done.
type pendingBound struct {
	gen     uint64
	binding Binding
	err     error
}

// brokerCancelled reports the broker's basic.cancel of the listener's
// consumer (its queue was deleted, say), as soon as it arrives: the
// deliveries already prefetched are still handled meanwhile.
type brokerCancelled struct{ gen, setup uint64 }

// maxReplayFailures is how many replays in a row may fail with the broker's
// refusal (a channel exception: 403, 404) before the listener says failed;
// a 406 on a declare that conflicts with what exists says failed at once
// (conflictHint). It keeps retrying, at resetupMax at the most.
const maxReplayFailures = 5

// consumeEnded reports that the consumer of replay setup on the channel of
// gen ended (its deliveries closed).
type consumeEnded struct{ gen, setup uint64 }

// resetup is a retry's delay passed: replay again on the channel of gen.
type resetup struct{ gen uint64 }

// Props returns the props of a listener; spawn it anywhere (under
// the tree's listeners supervisor with Tree.SpawnListener, or under an actor
// of the application).
func Props(env *actors.Env, spec Spec) (*actor.Props, error) {
	spec, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	if spec.Queue.Name == "" {
		// Named once, here, like Kazoo's anonymous queues: every replay
		// declares the same queue, so nothing is stranded between channels
		// and no queue is left behind per reconnect.
		spec.Queue.Name = anonymousQueueName(spec.Name)
	}
	// Made once, shared by every instance (restarts): read only.
	routes, tc, log := newRouteTable(spec.Handlers), &tokens{}, env.Log.With("actor", "listener", "listener", spec.Name)
	var hook, raw []target
	if spec.Raw != nil {
		raw = append(raw, target{name: "raw", h: spec.Raw})
	}
	if spec.HandleEvent != nil {
		hook = []target{{name: "handle_event", h: spec.HandleEvent}}
		raw = append(raw, hook...)
	}
	dd, logs := newDedup(spec.Dedup), &rateLogs{}
	return actor.PropsFromProducer(func() actor.Actor {
		// Two roots, not hctx under ctx: a child would cost ctx a map of
		// its children (a third of a KiB per listener); the stop cancels
		// both (effCancel).
		ctx, cancel := context.WithCancel(context.Background())
		hctx, hcancel := context.WithCancel(context.Background())
		s := &listenerShared{env: env, spec: &spec, tokens: tc, hook: hook, raw: raw, slots: make(chan struct{}, spec.Workers),
			ctx: ctx, hctx: hctx, hcancel: hcancel, log: log,
			dedup: dd, logs: logs, drainStarted: make(chan struct{}), drainWake: make(chan struct{}, 1)}
		s.cur.Store(noChannel)
		s.routes.Store(routes) // an instance starts with the spec's routes, as with its bindings
		return &listener{env: env, shared: s, log: s.log, cancel: cancel, fsm: newListenerFSM(&spec)}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, ""))), nil
}

var _ actor.Actor = (*listener)(nil)

// Receive translates the message into an event, steps the state machine
// and carries out its effects.
func (l *listener) Receive(ctx actor.Context) {
	if l.changeRoutes(ctx) {
		return
	}
	ev, ok := l.event(ctx)
	if !ok {
		return
	}
	ev.fresh = [2]uint64{actors.NextGeneration(), actors.NextGeneration()}
	ev.closed = l.ch != nil && l.ch.IsClosed()
	var effs []effect
	l.fsm, effs = l.fsm.next(ev)
	for _, e := range effs {
		l.do(ctx, e)
	}
}

// event is the FSM's event for the message ctx holds; false for a message
// the listener does not handle.
func (l *listener) event(ctx actor.Context) (levent, bool) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		return levent{kind: evStarted}, true
	case *actor.Stopping:
		return levent{kind: evStopping}, true
	case *actor.Restarting:
		return levent{kind: evRestarting}, true
	case *actor.Stopped:
		return levent{kind: evStopped}, true
	case *actors.ChannelAssigned:
		return levent{kind: evAssigned, assigned: m}, true
	case *actors.ChannelWaiting:
		return levent{kind: evWaiting, why: m.Reason}, true
	case *actors.ChannelLost:
		return levent{kind: evLost, id: m.ID, err: m.Err}, true
	case *actors.FlushCounters:
		return levent{kind: evFlush}, true
	case listenerMessage:
		return m.event(ctx.Sender()), true
	}
	return levent{}, false
}

// listenerMessage is a message of the listener's own protocol, which
// knows its event; from is its sender.
type listenerMessage interface{ event(from *actor.PID) levent }

func (m *AddBinding) event(from *actor.PID) levent {
	return levent{kind: evBindingChange, binding: m.Binding, add: true, to: from}
}
func (m *RemoveBinding) event(from *actor.PID) levent {
	return levent{kind: evBindingChange, binding: m.Binding, to: from}
}
func (m *bindingApplied) event(*actor.PID) levent {
	return levent{kind: evBindingApplied, binding: m.binding, add: m.add, existed: m.existed, err: m.err, to: m.to}
}
func (m *Drain) event(from *actor.PID) levent {
	return levent{kind: evDrain, deadline: m.Deadline, to: from}
}
func (m *drainDone) event(*actor.PID) levent    { return levent{kind: evDrainDone, drained: m.result} }
func (m *moveDone) event(*actor.PID) levent     { return levent{kind: evMoveDone, gen: m.gen} }
func (m *topologyDone) event(*actor.PID) levent { return levent{kind: evTopology, topo: m} }
func (m *pendingBound) event(*actor.PID) levent {
	return levent{kind: evPendingBound, gen: m.gen, binding: m.binding, err: m.err}
}
func (m *brokerCancelled) event(*actor.PID) levent {
	return levent{kind: evBrokerCancelled, gen: m.gen, setup: m.setup}
}
func (m *consumeEnded) event(*actor.PID) levent {
	return levent{kind: evConsumeEnded, gen: m.gen, setup: m.setup}
}
func (m *resetup) event(*actor.PID) levent { return levent{kind: evResetup, gen: m.gen} }

// setState shows st in the row, with lastErr (kept while not consuming
// when empty), and writes it.
func (l *listener) setState(st registry.ListenerState, lastErr string) {
	if st != l.state {
		l.since = time.Now()
	}
	l.state = st
	if lastErr != "" || st == registry.ListenerConsuming {
		l.lastErr = lastErr
	}
	l.writeRow()
}

func (l *listener) writeRow() {
	s, cur := l.shared, l.shared.current()
	// Without a channel (waiting, reconnecting) the row shows what the
	// spec names: its queue, and a federator's broker and zone.
	queue, broker, zone := cmp.Or(cur.queue, s.spec.Queue.Name), cmp.Or(cur.broker, s.spec.Broker), cmp.Or(cur.zone, s.spec.Zone)
	row := registry.Listener{
		Path: s.self.Id, Name: s.spec.Name, Queue: queue, ConsumerTag: s.spec.Consume.Tag,
		Broker: broker, Zone: zone, Parent: s.spec.parent, Channel: l.fsm.ChID, State: l.state, Since: l.since, LastError: l.lastErr,
		Received: s.counter.received.Load(), Acked: s.counter.acked.Load(), Nacked: s.counter.nacked.Load(),
		Rejected: s.counter.rejected.Load(), Unhandled: s.counter.unhandled.Load(), Errors: s.counter.errors.Load(),
		Stale: s.counter.stale.Load(), InFlight: s.counter.inFlight.Load(),
		Retried: s.counter.retried.Load(), DeadLettered: s.counter.deadLettered.Load(), Requeued: s.counter.requeued.Load(),
		Duplicates: s.counter.duplicates.Load(), RepliesReturned: s.counter.repliesReturned.Load(),
	}
	for _, b := range bindingsOf(l.fsm.Cmds) {
		row.Bindings = append(row.Bindings, b.String())
	}
	if err := l.env.Listeners.PutListener(row); err != nil {
		l.log.Error("writing listeners row", "err", err)
	}
}
