package listener

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
)

// The listener actor carries out the effects of its state machine
// (listener_fsm.go): the I/O, the goroutines, the timer and the replies.
// One function per effect, chosen by its kind.

// doers holds the function of each effect.
var doers = [effCount]func(*listener, actor.Context, effect){
	effInit:           (*listener).doInit,
	effRequestChannel: (*listener).doRequestChannel,
	effCancel:         func(l *listener, _ actor.Context, _ effect) { l.cancel(); l.shared.hcancel() },
	effRelease:        (*listener).doRelease,
	effDeleteRow:      (*listener).doDeleteRow,
	effSetState:       func(l *listener, _ actor.Context, e effect) { l.setState(e.state, e.why) },
	effWaitingReason:  (*listener).doWaitingReason,
	effWriteRow:       func(l *listener, _ actor.Context, _ effect) { l.writeRow() },
	effTakeChannel:    (*listener).doTakeChannel,
	effDropChannel:    (*listener).doDropChannel,
	effReplay:         func(l *listener, _ actor.Context, e effect) { l.startReplay(e.gen, e.setup) },
	effSetupOver:      (*listener).doSetupOver,
	effQueueDeclared:  func(l *listener, _ actor.Context, e effect) { l.shared.cur.Store(l.shared.current().withQueue(e.why)) },
	effBindPending:    func(l *listener, _ actor.Context, e effect) { l.startBindPending(e.gen, e.bindings) },
	effForward:        func(l *listener, _ actor.Context, e effect) { l.forward(e.gen, e.setup, e.topo.deliveries, l.cancels) },
	effConsuming:      (*listener).doConsuming,
	effStopTimer:      func(l *listener, _ actor.Context, _ effect) { l.stopTimer() },
	effArmTimer:       (*listener).doArmTimer,
	effTimerFired:     func(l *listener, _ actor.Context, _ effect) { l.timer = nil },
	effCancelConsumer: func(l *listener, _ actor.Context, _ effect) { l.startCancelConsumer() },
	effBeginMove:      func(l *listener, _ actor.Context, e effect) { l.beginMove(e.gen, e.assigned) },
	effUnretire:       func(l *listener, _ actor.Context, _ effect) { l.shared.retiring.Store(0) },
	effGiveBack:       func(l *listener, _ actor.Context, e effect) { l.giveBack(e.id) },
	effBeginDrain:     func(l *listener, _ actor.Context, e effect) { l.beginDrain(e.deadline, e.cancel) },
	effDrainWaiter:    func(l *listener, _ actor.Context, e effect) { l.drain.waiters = append(l.drain.waiters, e.to) },
	effAnswerDrain:    func(l *listener, _ actor.Context, e effect) { l.answer(e.to, &e.result) },
	effDrained:        (*listener).doDrained,
	effApplyBinding:   func(l *listener, _ actor.Context, e effect) { l.startApplyBinding(e) },
	effRespond:        func(l *listener, _ actor.Context, e effect) { l.answer(e.to, &BindingChanged{Err: e.err}) },
	effFlushed:        (*listener).doFlushed,
	effLog: func(l *listener, _ actor.Context, e effect) {
		l.log.Log(context.Background(), e.level, e.why, e.args...)
	},
}

// do carries out e.
func (l *listener) do(ctx actor.Context, e effect) { doers[e.kind](l, ctx, e) }

func (l *listener) doInit(ctx actor.Context, _ effect) {
	l.shared.self = ctx.Self()
	l.pool = newWorkers(l.shared)
}

func (l *listener) doRequestChannel(ctx actor.Context, _ effect) {
	s := l.shared.spec
	ctx.Send(l.env.PID(actors.AssignmentsName), &actors.RequestChannel{Consumer: ctx.Self(), App: s.App, Type: s.Channel, Broker: s.Broker, Zone: s.Zone, Tag: s.Tag, CanMove: true})
}

func (l *listener) doRelease(ctx actor.Context, _ effect) {
	ctx.Send(l.env.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: ctx.Self()})
}

func (l *listener) doDeleteRow(ctx actor.Context, _ effect) {
	path := ctx.Self().Id
	_ = l.env.Listeners.DeleteListener(path)
}

func (l *listener) doWaitingReason(_ actor.Context, e effect) {
	l.lastErr = e.why
	l.writeRow()
}

// doTakeChannel holds e's channel under generation e.gen.
func (l *listener) doTakeChannel(_ actor.Context, e effect) {
	m := e.assigned
	l.ch, l.known = m.Channel, m.Exchanges
	l.shared.cur.Store(l.shared.current().withChannel(e.gen, m))
	// Drained by the forwarders of this channel's consumers, which also
	// watch for it while they wait for a worker: an undrained Notify chan
	// would stall the whole connection.
	l.cancels = m.Channel.NotifyCancel(make(chan string, 4))
}

// doDropChannel lets go of a lost channel: generation e.gen holds none.
func (l *listener) doDropChannel(_ actor.Context, e effect) {
	l.shared.cur.Store(l.shared.current().lost(e.gen))
	l.ch, l.known, l.cancels = nil, nil, nil
	l.stopTimer()
	l.shared.setupPending.Store(false) // a replay on the lost channel reports stale
	l.shared.wakeDrain()
	l.log.Log(context.Background(), e.level, "channel lost; waiting for another", "channel", e.id, "err", e.why)
}

func (l *listener) doSetupOver(actor.Context, effect) {
	l.shared.setupPending.Store(false)
	l.shared.wakeDrain()
}

func (l *listener) doConsuming(actor.Context, effect) {
	l.shared.retiring.Store(0) // a move's retired channel is gone: this one consumes
	l.log.Info("consuming", "queue", l.shared.queueName(), "broker", l.shared.brokerID())
}

func (l *listener) doArmTimer(_ actor.Context, e effect) {
	l.stopTimer()
	env, self, gen := l.env, l.shared.self, e.gen
	l.timer = time.AfterFunc(e.delay, func() { env.Send(self, &resetup{gen: gen}) })
}

func (l *listener) stopTimer() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

func (l *listener) doFlushed(actor.Context, effect) {
	l.shared.flush.Flushed()
	l.writeRow()
}

// answer sends msg to to, unless nobody asked.
func (l *listener) answer(to *actor.PID, msg any) {
	if to != nil {
		l.env.Send(to, msg)
	}
}
