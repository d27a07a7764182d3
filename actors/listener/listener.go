package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
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
// Owner:    its mailbox; listenerShared holds what delivery goroutines touch.
// Writes:   its own listeners row.
// Blocking: replay and run-time binding changes run in goroutines under
// .         opMu; deliveries never pass through the mailbox.
type listener struct {
	env    *actors.Env
	shared *listenerShared
	log    *slog.Logger
	cancel context.CancelFunc
	pool   *workers

	cmds       []command // the recorded topology
	opMu       *sync.Mutex
	ch         *amqp.Channel
	chID       string
	cancels    <-chan string // ch's consumer-cancel notifications, drained by its forwarders
	setupGen   uint64        // bumped for every replay attempt; late results are dropped
	state      registry.ListenerState
	lastErr    string
	since      time.Time
	retries    int    // replays in a row that failed without closing the channel
	refusals   int    // replays in a row the broker refused with a channel exception
	refusedGen uint64 // channel generation of the last refusal counted
	timer      *time.Timer
	drain      *drainState   // set once a Drain began
	move       *move         // a move to another broker in progress
	retire     chan struct{} // closed by a move: the current forwarder's deliveries start no handler
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
// refusal (a channel exception: 406 inequivalent arguments, 403, 404) before
// the listener says failed. It keeps retrying, at resetupMax at the most.
const maxReplayFailures = 5

type consumeEnded struct{ gen, setup uint64 }
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
	routes, log := newRoutes(spec.Handlers), env.Log.With("actor", "listener", "listener", spec.Name)
	dd, failLog, rejectLog := newDedup(spec.Dedup), newRateLog("handler failures"), newRateLog("rejected payloads")
	replyLog := newRateLog("returned replies")
	return actor.PropsFromProducer(func() actor.Actor {
		ctx, cancel := context.WithCancel(context.Background())
		hctx, hcancel := context.WithCancel(ctx)
		s := &listenerShared{env: env, spec: &spec, routes: routes, ctx: ctx, hctx: hctx, hcancel: hcancel, log: log,
			dedup: dd, failLog: failLog, rejectLog: rejectLog, replyLog: replyLog, drainStarted: make(chan struct{}), drainWake: make(chan struct{}, 1)}
		s.cur.Store(noChannel)
		return &listener{env: env, shared: s, log: s.log, cancel: cancel, cmds: initialCommands(spec), opMu: &sync.Mutex{}}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, ""))), nil
}

var _ actor.Actor = (*listener)(nil)

func (l *listener) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		l.shared.self = ctx.Self()
		l.pool = newWorkers(l.shared)
		l.setState(registry.ListenerWaiting, "")
		s := l.shared.spec
		ctx.Send(l.env.PID(actors.AssignmentsName), &actors.RequestChannel{Consumer: ctx.Self(), App: s.App, Type: s.Channel, Broker: s.Broker, Zone: s.Zone, CanMove: true})
	case *actor.Stopping:
		l.cancel()
		l.stopTimer()
	case *actor.Restarting:
		// The next instance replays its topology from scratch: give the
		// channel back so that it starts on a fresh one (its consumer tag
		// would clash on this one).
		l.cancel()
		l.stopTimer()
		ctx.Send(l.env.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: ctx.Self()})
	case *actor.Stopped:
		path := ctx.Self().Id
		_ = l.env.Registry.Write(func(w *registry.Writer) error { return w.DeleteListener(path) })
	case *actors.ChannelAssigned:
		if m.MovedFrom != "" {
			l.startMove(m)
			return
		}
		l.adopt(m)
	case *moveDone:
		l.onMoveDone(m)
	case *actors.ChannelWaiting:
		if l.ch == nil { // still waiting: the row says why (or no longer)
			l.lastErr = m.Reason
			l.writeRow()
		}
	case *actors.ChannelLost:
		if l.move != nil {
			if m.ID == l.move.to.ID { // the new channel died first: stay, a replacement follows
				l.move = nil
				l.shared.retiring.Store(0)
				return
			}
			// The retired channel died: the broker requeued what it had unacked.
			to := l.move.to
			l.move = nil
			l.adopt(to)
			return
		}
		l.lost(m)
	case *topologyDone:
		l.onTopology(m)
	case *pendingBound:
		l.onPendingBound(m)
	case *brokerCancelled:
		if l.drain == nil && m.gen == l.shared.current().gen && m.setup == l.setupGen && l.state == registry.ListenerConsuming && l.ch != nil && !l.ch.IsClosed() {
			// Declare again at once; prefetched deliveries are still handled.
			l.log.Warn("consumer cancelled by the broker; declaring the queue again", "queue", l.shared.queueName())
			l.stopTimer()
			l.setup(m.gen)
		}
	case *consumeEnded:
		if l.drain == nil && m.gen == l.shared.current().gen && m.setup == l.setupGen && l.ch != nil && !l.ch.IsClosed() {
			l.log.Warn("consumer cancelled by the broker; declaring the queue again", "queue", l.shared.queueName())
			l.retry(m.gen, "consumer cancelled by the broker")
		}
	case *resetup:
		l.timer = nil
		if l.drain == nil && m.gen == l.shared.current().gen && l.ch != nil {
			l.setup(m.gen)
		}
	case *AddBinding:
		l.onBindingChange(ctx, m.Binding, true)
	case *RemoveBinding:
		l.onBindingChange(ctx, m.Binding, false)
	case *Drain:
		sender, sys := ctx.Sender(), l.env.System
		l.startDrain(m.Deadline, func(r *Drained) {
			if sender != nil {
				sys.Root.Send(sender, r)
			}
		})
	case *drainDone:
		l.onDrainDone(m)
	case *actors.FlushCounters:
		l.shared.flush.Flushed()
		l.writeRow()
	}
}

// adopt takes m's channel as the listener's own and replays its topology
// on it (unless a drain began).
func (l *listener) adopt(m *actors.ChannelAssigned) {
	{
		gen := actors.NextGeneration()
		l.ch, l.chID, l.retries = m.Channel, m.ID, 0
		l.shared.cur.Store(l.shared.current().withChannel(gen, m))
		// Drained by the forwarders of this channel's consumers, which
		// also watch for it while they wait for a worker: an undrained
		// Notify chan would stall the whole connection.
		l.cancels = m.Channel.NotifyCancel(make(chan string, 4))
		if l.drain != nil {
			return // drained or draining: the channel is held, nothing consumes on it
		}
		l.setup(gen)
	}
}

// lost handles the loss of the listener's channel.
func (l *listener) lost(m *actors.ChannelLost) {
	{
		old := l.shared.current().gen
		l.shared.cur.Store(l.shared.current().lost(actors.NextGeneration())) // acks of the old channel's deliveries are dropped from now on
		l.ch, l.chID, l.cancels = nil, "", nil
		l.stopTimer()
		l.shared.setupPending.Store(false) // a replay on the lost channel reports stale
		l.shared.wakeDrain()
		msg := "channel lost"
		if m.Err != nil {
			msg += ": " + redact.Error(m.Err)
		}
		l.log.Warn("channel lost; waiting for another", "channel", m.ID, "err", msg)
		var ae *amqp.Error
		if (l.state == registry.ListenerDeclaring || l.state == registry.ListenerFailed) && errors.As(m.Err, &ae) && ae.Recover {
			// The replay's refusal closed the channel before its result
			// arrived (that result is now stale): count it here.
			if st, why := l.refused(old, redact.Error(m.Err)); st == registry.ListenerFailed {
				l.setState(st, why)
				return
			}
		}
		if l.drain != nil {
			return // the broker requeued what this channel had unacked
		}
		l.setState(registry.ListenerReconnecting, msg)
	}
}

// setup replays the recorded topology on the current channel in a goroutine.
func (l *listener) setup(gen uint64) {
	l.setupGen = actors.NextGeneration()
	setupGen, ch, cmds, spec := l.setupGen, l.ch, append([]command(nil), l.cmds...), l.shared.spec
	env, self, opMu := l.env, l.shared.self, l.opMu
	l.setState(registry.ListenerDeclaring, "")
	l.shared.setupPending.Store(true)
	go func() {
		opMu.Lock()
		queue, deliveries, unbound, err := replay(ch, *spec, cmds)
		opMu.Unlock()
		env.Send(self, &topologyDone{gen: gen, setup: setupGen, queue: queue, deliveries: deliveries, unbound: unbound,
			replayed: bindingsOf(cmds), err: err})
	}()
}

func (l *listener) onTopology(m *topologyDone) {
	if m.gen == l.shared.current().gen && m.setup == l.setupGen {
		defer func() { // after forward counted its goroutine: the drain never sees neither
			l.shared.setupPending.Store(false)
			l.shared.wakeDrain()
		}()
	}
	if m.gen != l.shared.current().gen || m.setup != l.setupGen {
		// A replay on a channel we no longer hold. Its refusal of a binding
		// added while the listener was down still counts: the channel's
		// close (the refusal's) may have been acted on first.
		if re := (*replayError)(nil); errors.As(m.err, &re) && re.cmd.kind == cmdBind && re.cmd.unapplied {
			l.dropUnapplied(re, m)
		}
		return
	}
	for _, b := range m.unbound {
		l.cmds = appliedUnbind(l.cmds, b)
	}
	if re := (*replayError)(nil); errors.As(m.err, &re) && re.cmd.kind == cmdUnbind && notFound(m.err) {
		l.cmds = appliedUnbind(l.cmds, re.cmd.binding) // its exchange is gone, and the binding with it
	}
	if re := (*replayError)(nil); errors.As(m.err, &re) && re.cmd.kind == cmdBind && re.cmd.unapplied {
		// A binding added while the listener was down, refused by the
		// broker (its exchange missing, a declare conflict): drop it, as
		// a refused AddBinding is dropped while consuming, and replay the
		// rest on the next channel; the listener is not to blame.
		why := l.dropUnapplied(re, m)
		if l.ch.IsClosed() {
			l.setState(registry.ListenerDeclaring, "dropped binding "+re.cmd.binding.String()+": "+why)
			return
		}
		l.setup(m.gen)
		return
	}
	if m.err != nil {
		why := redact.Error(m.err)
		l.log.Error("topology replay failed", "queue", m.queue, "err", why)
		var ae *amqp.Error
		if errors.As(m.err, &ae) && ae.Recover || l.ch.IsClosed() {
			// A channel exception closed the channel: assignments replaces it
			// (after a growing delay when it happens again and again).
			l.setState(l.refused(m.gen, why))
			return
		}
		l.retry(m.gen, why)
		return
	}
	q := m.queue
	l.shared.cur.Store(l.shared.current().withQueue(q))
	l.cmds = applied(l.cmds, m.replayed)
	l.bindPending(m.gen)
	l.retries, l.refusals = 0, 0
	l.forward(m.gen, m.setup, m.deliveries, l.cancels)
	if l.drain != nil {
		// Drain began during the replay: what the consume brings goes back.
		l.cancelConsumer()
		return
	}
	l.shared.retiring.Store(0) // a move's retired channel is gone: this one consumes
	l.log.Info("consuming", "queue", q, "broker", l.shared.brokerID())
	l.setState(registry.ListenerConsuming, "")
}

// bindPending binds, on the channel of gen, the bindings added while the
// replay ran (the replay did not include them; nothing else would apply
// them before the next reconnect).
func (l *listener) bindPending(gen uint64) {
	var pending []Binding
	for _, c := range l.cmds {
		if c.kind == cmdBind && c.unapplied {
			pending = append(pending, c.binding)
		}
	}
	if len(pending) == 0 {
		return
	}
	ch, queue, opMu, env, self := l.ch, l.shared.queueName(), l.opMu, l.env, l.shared.self
	go func() {
		opMu.Lock()
		defer opMu.Unlock()
		for _, b := range pending {
			var err error
			if b.Declare {
				err = ch.ExchangeDeclare(b.Exchange, b.Kind, b.Durable, b.AutoDelete, b.Internal, false, nil)
			}
			if err == nil {
				err = ch.QueueBind(queue, b.RoutingKey, b.Exchange, false, b.Args)
			}
			env.Send(self, &pendingBound{gen: gen, binding: b, err: err})
			if err != nil {
				return // the channel is closed: the next replay tries the rest
			}
		}
	}()
}

func (l *listener) onPendingBound(m *pendingBound) {
	switch {
	case m.err == nil:
		l.cmds = applied(l.cmds, []Binding{m.binding})
	case errors.Is(m.err, amqp.ErrClosed):
		// The channel closed first: the next replay tries the binding.
	default:
		l.cmds, _ = removeBinding(l.cmds, m.binding, false)
		l.log.Error("runtime binding refused by the broker; dropped", "queue", l.shared.queueName(), "binding", m.binding.String(), "err", redact.Error(m.err))
	}
	l.writeRow()
}

// dropUnapplied forgets a binding added while the listener was down that
// the broker refused on replay, and undoes the refusal's count (the
// listener's own topology was not refused).
func (l *listener) dropUnapplied(re *replayError, m *topologyDone) string {
	why := redact.Error(m.err)
	if !slices.ContainsFunc(bindingsOf(l.cmds), re.cmd.binding.same) {
		return why // dropped already
	}
	l.cmds, _ = removeBinding(l.cmds, re.cmd.binding, false)
	if m.gen == l.refusedGen && l.refusals > 0 {
		l.refusals--
	}
	l.log.Error("runtime binding refused by the broker; dropped", "queue", m.queue, "binding", re.cmd.binding.String(), "err", why)
	l.writeRow()
	return why
}

// refused counts the broker's refusal of the replay on the channel of gen
// (once per channel) and returns the state to show with its reason: failed
// after maxReplayFailures in a row.
func (l *listener) refused(gen uint64, why string) (registry.ListenerState, string) {
	if gen != l.refusedGen {
		l.refusedGen = gen
		l.refusals++
	}
	if l.refusals >= maxReplayFailures {
		return registry.ListenerFailed, fmt.Sprintf("broker refused the topology %d times in a row: %s", l.refusals, why)
	}
	return registry.ListenerDeclaring, why
}

func (l *listener) retry(gen uint64, why string) {
	l.retries++
	delay := min(resetupFirst<<min(l.retries-1, 10), resetupMax)
	l.stopTimer()
	env, self := l.env, l.shared.self
	l.timer = time.AfterFunc(delay, func() { env.Send(self, &resetup{gen: gen}) })
	l.setState(registry.ListenerDeclaring, why)
}

func (l *listener) stopTimer() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

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
					s.ackOnArrival(d)
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

func (l *listener) onBindingChange(ctx actor.Context, b Binding, add bool) {
	if b.Exchange == "" {
		ctx.Respond(&BindingChanged{Err: fmt.Errorf("warren: listener %s: %w", l.shared.spec.Name, ErrNoExchange)})
		return
	}
	consuming := l.state == registry.ListenerConsuming && l.ch != nil
	existed := false
	for _, have := range bindingsOf(l.cmds) {
		existed = existed || have.same(b)
	}
	if add {
		l.cmds = addBinding(l.cmds, b, !consuming)
	} else {
		var found bool
		// Not consuming: the next replay unbinds, if the queue outlives
		// its channel (an exclusive or auto-delete queue goes with it).
		if l.cmds, found = removeBinding(l.cmds, b, !consuming && l.shared.spec.Queue.outlivesChannel()); !found {
			ctx.Respond(&BindingChanged{Err: fmt.Errorf("warren: listener %s: %w %s", l.shared.spec.Name, ErrNoBinding, b)})
			return
		}
	}
	l.writeRow()
	if !consuming {
		ctx.Respond(&BindingChanged{}) // applied by the next replay
		return
	}
	ch, queue, opMu := l.ch, l.shared.queueName(), l.opMu
	f := actor.NewFuture(l.env.System, 30*time.Second)
	go func() {
		opMu.Lock()
		var err error
		if add {
			if b.Declare {
				err = ch.ExchangeDeclare(b.Exchange, b.Kind, b.Durable, b.AutoDelete, b.Internal, false, nil)
			}
			if err == nil {
				err = ch.QueueBind(queue, b.RoutingKey, b.Exchange, false, b.Args)
			}
		} else {
			err = ch.QueueUnbind(queue, b.RoutingKey, b.Exchange, b.Args)
		}
		opMu.Unlock()
		l.env.Send(f.PID(), &BindingChanged{Err: err})
	}()
	ctx.ReenterAfter(f, func(res any, err error) {
		if err != nil {
			res = &BindingChanged{Err: err}
		}
		r := res.(*BindingChanged)
		switch {
		case r.Err != nil && add && errors.Is(r.Err, amqp.ErrClosed):
			// The channel closed under the bind (its ChannelLost is on its
			// way): like an add while not consuming, the next replay tries
			// it, and drops it if the broker refuses.
			if !existed {
				l.cmds = markUnapplied(l.cmds, b)
			}
			r.Err = nil
		case r.Err != nil && add:
			// Not applied (a missing exchange closes the channel with 404):
			// forget it, or every replay would fail the same way — unless it
			// was bound before this call, which changes nothing then.
			if !existed {
				l.cmds, _ = removeBinding(l.cmds, b, false)
			}
			r.Err = &BindingError{Listener: l.shared.spec.Name, Op: "bind", Binding: b, Err: r.Err}
			l.writeRow()
		case r.Err != nil && !notFound(r.Err) && l.shared.spec.Queue.outlivesChannel():
			// Not applied, and the binding may still be on the broker: the
			// next replay unbinds (a 404 means there is nothing to unbind).
			l.cmds = insertBeforeConsume(l.cmds, command{kind: cmdUnbind, binding: b})
			r.Err = &BindingError{Listener: l.shared.spec.Name, Op: "unbind", Binding: b, Retried: true, Err: r.Err}
		}
		ctx.Respond(res)
	})
}

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
	s := l.shared
	row := registry.Listener{
		Path: s.self.Id, Name: s.spec.Name, Queue: s.queueName(), ConsumerTag: s.spec.Consume.Tag,
		Broker: s.brokerID(), Zone: s.zone(), Parent: s.spec.parent, Channel: l.chID, State: l.state, Since: l.since, LastError: l.lastErr,
		Received: s.counter.received.Load(), Acked: s.counter.acked.Load(), Nacked: s.counter.nacked.Load(),
		Rejected: s.counter.rejected.Load(), Unhandled: s.counter.unhandled.Load(), Errors: s.counter.errors.Load(),
		Stale: s.counter.stale.Load(), InFlight: s.counter.inFlight.Load(),
		Retried: s.counter.retried.Load(), DeadLettered: s.counter.deadLettered.Load(), Requeued: s.counter.requeued.Load(),
		Duplicates: s.counter.duplicates.Load(), RepliesReturned: s.counter.repliesReturned.Load(),
	}
	for _, b := range bindingsOf(l.cmds) {
		row.Bindings = append(row.Bindings, b.String())
	}
	if err := l.env.Registry.Write(func(w *registry.Writer) error { return w.PutListener(row) }); err != nil {
		l.log.Error("writing listeners row", "err", err)
	}
}
