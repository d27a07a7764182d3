package listener

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// Fixtures of the listener FSM: one per state a listener shows, plus a move
// under way. Generations: the channel held is 10, its replay 20; the
// numbers an event brings fresh are 100 (a channel's) and 101 (a replay's).
var (
	fsmBinding = Binding{Exchange: "x", RoutingKey: "k"}
	fsmAdded   = Binding{Exchange: "x", RoutingKey: "added"}
	fsmFresh   = [2]uint64{100, 101}
)

func fsmBase() listenerFSM {
	return newListenerFSM(&Spec{Name: "l", Queue: QueueSpec{Name: "q", Durable: true}, Bindings: []Binding{fsmBinding}})
}

func fsmFixtures() map[string]listenerFSM {
	with := func(st registry.ListenerState, ch bool, change func(*listenerFSM)) listenerFSM {
		f := fsmBase()
		f.State, f.HasCh, f.Gen, f.Setup, f.Queue = st, ch, 10, 20, "q"
		if ch {
			f.ChID = "c1"
		}
		if change != nil {
			change(&f)
		}
		return f
	}
	return map[string]listenerFSM{
		"waiting":      with(registry.ListenerWaiting, false, func(f *listenerFSM) { f.Gen, f.Setup, f.Queue = 0, 0, "" }),
		"declaring":    with(registry.ListenerDeclaring, true, nil),
		"consuming":    with(registry.ListenerConsuming, true, nil),
		"reconnecting": with(registry.ListenerReconnecting, false, func(f *listenerFSM) { f.Gen = 11 }),
		"failed":       with(registry.ListenerFailed, true, func(f *listenerFSM) { f.Refusals, f.RefusedGen = maxReplayFailures, 10 }),
		"moving": with(registry.ListenerConsuming, true, func(f *listenerFSM) {
			f.MoveTo, f.MoveGen = &actors.ChannelAssigned{ID: "c2", MovedFrom: "c1"}, 10
		}),
		"draining": with(registry.ListenerDraining, true, func(f *listenerFSM) { f.Drain = drainRunning }),
		"drained":  with(registry.ListenerDrained, true, func(f *listenerFSM) { f.Drain = drainOver }),
	}
}

// fsmEvent is the canonical event of kind for f: a success, and a result
// of f's channel and replay — without a channel, of the one it lost
// (generation 10: its loss moved the generation on).
func fsmEvent(f listenerFSM, kind evKind) levent {
	ev := levent{kind: kind, fresh: fsmFresh, gen: f.Gen, setup: f.Setup}
	if !f.HasCh {
		ev.gen, ev.setup = 10, 20
	}
	switch kind {
	case evAssigned:
		ev.assigned = &actors.ChannelAssigned{ID: "c3"}
	case evWaiting:
		ev.why = "no broker up"
	case evLost:
		ev.id = f.ChID
	case evTopology:
		ev.topo = &topologyDone{gen: ev.gen, setup: ev.setup, queue: "q", replayed: []Binding{fsmBinding}}
	case evPendingBound, evBindingChange, evBindingApplied:
		ev.binding, ev.add = fsmAdded, true
	case evDrainDone:
		ev.drained = Drained{Listener: "l", Requeued: 2, Finished: 1}
	}
	return ev
}

// render shows a step's outcome: the state after it and its effects.
func render(f listenerFSM, effs []effect) string {
	move := "-"
	if f.MoveTo != nil {
		move = f.MoveTo.ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s ch=%q gen=%d setup=%d drain=%d move=%s retries=%d refusals=%d bindings=%v",
		f.State, f.ChID, f.Gen, f.Setup, f.Drain, move, f.Retries, f.Refusals, bindingsOf(f.Cmds))
	for i, e := range effs {
		sep := ": "
		if i > 0 {
			sep = ", "
		}
		b.WriteString(sep + e.kind.String())
		switch e.kind {
		case effSetState:
			fmt.Fprintf(&b, "(%s %q)", e.state, e.why)
		case effReplay:
			fmt.Fprintf(&b, "(%d/%d)", e.gen, e.setup)
		case effTakeChannel:
			fmt.Fprintf(&b, "(%s as %d)", e.assigned.ID, e.gen)
		case effDropChannel:
			fmt.Fprintf(&b, "(%s; %d)", e.id, e.gen)
		case effGiveBack:
			fmt.Fprintf(&b, "(%s)", e.id)
		case effArmTimer:
			fmt.Fprintf(&b, "(%d in %v)", e.gen, e.delay)
		case effForward, effBeginMove:
			fmt.Fprintf(&b, "(%d)", e.gen)
		case effApplyBinding:
			fmt.Fprintf(&b, "(%s add=%v existed=%v)", e.binding, e.add, e.existed)
		case effBindPending:
			fmt.Fprintf(&b, "(%d %v)", e.gen, e.bindings)
		case effRespond:
			fmt.Fprintf(&b, "(%v)", e.err)
		case effBeginDrain:
			fmt.Fprintf(&b, "(cancel=%v)", e.cancel)
		case effLog:
			fmt.Fprintf(&b, "(%s %s)", e.level, e.why)
		case effWaitingReason, effQueueDeclared:
			fmt.Fprintf(&b, "(%s)", e.why)
		case effAnswerDrain, effDrained:
			fmt.Fprintf(&b, "(%+v)", e.result)
		}
	}
	return b.String()
}

// listenerFSMTable is what every (fixture, event) pair does, shown as
// render shows it: the state after the step, then its effects. A pair not
// listed changes nothing and asks for nothing; fsmIgnoredWhy says why.
var listenerFSMTable = map[string]map[evKind]string{
	"waiting": {
		evStarted:        `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:       `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:     `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:        `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:       `declaring ch="c3" gen=100 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100), set state(declaring ""), replay(100/101)`,
		evWaiting:        `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: waiting reason(no broker up)`,
		evLost:           `reconnecting ch="" gen=100 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: drop channel(; 100), set state(reconnecting "channel lost")`,
		evPendingBound:   `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: write row`,
		evResetup:        `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: timer fired`,
		evBindingChange:  `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k x/added]: write row, respond(<nil>)`,
		evBindingApplied: `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:          `draining ch="" gen=0 setup=0 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: drain waiter, begin drain(cancel=false), set state(draining "")`,
		evFlush:          `waiting ch="" gen=0 setup=0 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
	"declaring": {
		evStarted:        `waiting ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:       `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:     `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:        `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:       `declaring ch="c3" gen=100 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100), set state(declaring ""), replay(100/101)`,
		evLost:           `reconnecting ch="" gen=100 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: drop channel(c1; 100), set state(reconnecting "channel lost")`,
		evTopology:       `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: queue declared(q), forward(10), consuming, set state(consuming ""), setup over`,
		evPendingBound:   `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: write row`,
		evConsumeEnded:   `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=1 refusals=0 bindings=[x/k]: log(WARN consumer cancelled by the broker; declaring the queue again), arm timer(10 in 100ms), set state(declaring "consumer cancelled by the broker")`,
		evResetup:        `declaring ch="c1" gen=10 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: timer fired, set state(declaring ""), replay(10/101)`,
		evBindingChange:  `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k x/added]: write row, respond(<nil>)`,
		evBindingApplied: `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:          `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: drain waiter, begin drain(cancel=true), set state(draining "")`,
		evFlush:          `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
	"consuming": {
		evStarted:         `waiting ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:        `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:      `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:         `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:        `declaring ch="c3" gen=100 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100), set state(declaring ""), replay(100/101)`,
		evLost:            `reconnecting ch="" gen=100 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: drop channel(c1; 100), set state(reconnecting "channel lost")`,
		evTopology:        `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: queue declared(q), forward(10), consuming, set state(consuming ""), setup over`,
		evPendingBound:    `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: write row`,
		evBrokerCancelled: `declaring ch="c1" gen=10 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: log(WARN consumer cancelled by the broker; declaring the queue again), stop timer, set state(declaring ""), replay(10/101)`,
		evConsumeEnded:    `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=1 refusals=0 bindings=[x/k]: log(WARN consumer cancelled by the broker; declaring the queue again), arm timer(10 in 100ms), set state(declaring "consumer cancelled by the broker")`,
		evResetup:         `declaring ch="c1" gen=10 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: timer fired, set state(declaring ""), replay(10/101)`,
		evBindingChange:   `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k x/added]: write row, apply binding(x/added add=true existed=false)`,
		evBindingApplied:  `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:           `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: drain waiter, begin drain(cancel=true), set state(draining "")`,
		evFlush:           `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
	"reconnecting": {
		evStarted:        `waiting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:       `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:     `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:        `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:       `declaring ch="c3" gen=100 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100), set state(declaring ""), replay(100/101)`,
		evWaiting:        `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: waiting reason(no broker up)`,
		evLost:           `reconnecting ch="" gen=100 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: drop channel(; 100), set state(reconnecting "channel lost")`,
		evPendingBound:   `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: write row`,
		evResetup:        `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: timer fired`,
		evBindingChange:  `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k x/added]: write row, respond(<nil>)`,
		evBindingApplied: `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:          `draining ch="" gen=11 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: drain waiter, begin drain(cancel=false), set state(draining "")`,
		evFlush:          `reconnecting ch="" gen=11 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
	"failed": {
		evStarted:        `waiting ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:       `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: cancel, stop timer`,
		evRestarting:     `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:        `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: delete row`,
		evAssigned:       `declaring ch="c3" gen=100 setup=101 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: take channel(c3 as 100), set state(declaring ""), replay(100/101)`,
		evLost:           `reconnecting ch="" gen=100 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: drop channel(c1; 100), set state(reconnecting "channel lost")`,
		evTopology:       `consuming ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: queue declared(q), forward(10), consuming, set state(consuming ""), setup over`,
		evPendingBound:   `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: write row`,
		evConsumeEnded:   `declaring ch="c1" gen=10 setup=20 drain=0 move=- retries=1 refusals=5 bindings=[x/k]: log(WARN consumer cancelled by the broker; declaring the queue again), arm timer(10 in 100ms), set state(declaring "consumer cancelled by the broker")`,
		evResetup:        `declaring ch="c1" gen=10 setup=101 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: timer fired, set state(declaring ""), replay(10/101)`,
		evBindingChange:  `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k x/added]: write row, respond(<nil>)`,
		evBindingApplied: `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: respond(<nil>)`,
		evDrain:          `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=5 bindings=[x/k]: drain waiter, begin drain(cancel=false), set state(draining "")`,
		evFlush:          `failed ch="c1" gen=10 setup=20 drain=0 move=- retries=0 refusals=5 bindings=[x/k]: flushed`,
	},
	"moving": {
		evStarted:      `waiting ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:     `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:   `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:      `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:     `declaring ch="c3" gen=100 setup=101 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100), set state(declaring ""), replay(100/101)`,
		evMoveDone:     `declaring ch="c2" gen=100 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c2 as 100), set state(declaring ""), replay(100/101), give back(c1)`,
		evLost:         `declaring ch="c2" gen=100 setup=101 drain=0 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c2 as 100), set state(declaring ""), replay(100/101)`,
		evTopology:     `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: queue declared(q), forward(10), consuming, set state(consuming ""), setup over`,
		evPendingBound: `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: write row`,
		// The move's own basic.cancel ends the consumer: nothing consumes again on the retired channel.
		evBrokerCancelled: `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]`,
		evConsumeEnded:    `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]`,
		evResetup:         `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: timer fired`,
		evBindingChange:   `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k x/added]: write row, apply binding(x/added add=true existed=false)`,
		evBindingApplied:  `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:           `draining ch="c1" gen=10 setup=20 drain=1 move=c2 retries=0 refusals=0 bindings=[x/k]: drain waiter, begin drain(cancel=true), set state(draining "")`,
		evFlush:           `consuming ch="c1" gen=10 setup=20 drain=0 move=c2 retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
	"draining": {
		evStarted:        `waiting ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:       `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:     `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:        `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:       `draining ch="c3" gen=100 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100)`,
		evLost:           `draining ch="" gen=100 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: drop channel(c1; 100)`,
		evTopology:       `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: queue declared(q), forward(10), cancel consumer, setup over`,
		evPendingBound:   `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: write row`,
		evResetup:        `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: timer fired`,
		evBindingChange:  `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k x/added]: write row, respond(<nil>)`,
		evBindingApplied: `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:          `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: drain waiter`,
		evDrainDone:      `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: log(INFO drained), set state(drained ""), drained({Listener:l Requeued:2 Finished:1 Cut:0})`,
		evFlush:          `draining ch="c1" gen=10 setup=20 drain=1 move=- retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
	"drained": {
		evStarted:        `waiting ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: init, set state(waiting ""), request channel`,
		evStopping:       `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer`,
		evRestarting:     `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: cancel, stop timer, release`,
		evStopped:        `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: delete row`,
		evAssigned:       `drained ch="c3" gen=100 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: take channel(c3 as 100)`,
		evLost:           `drained ch="" gen=100 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: drop channel(c1; 100)`,
		evTopology:       `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: queue declared(q), forward(10), setup over`,
		evPendingBound:   `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: write row`,
		evResetup:        `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: timer fired`,
		evBindingChange:  `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k x/added]: write row, respond(<nil>)`,
		evBindingApplied: `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: respond(<nil>)`,
		evDrain:          `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: answer drain({Listener:l Requeued:0 Finished:0 Cut:0})`,
		evFlush:          `drained ch="c1" gen=10 setup=20 drain=2 move=- retries=0 refusals=0 bindings=[x/k]: flushed`,
	},
}

// fsmIgnoredWhy says, for each event some fixture ignores, why.
var fsmIgnoredWhy = map[evKind]string{
	evTopology:        "without a channel every replay's result is stale: the channel it ran on is gone",
	evConsumeEnded:    "only the current consumer's end, on a channel held and open, outside a drain, asks for another replay",
	evBrokerCancelled: "only a consuming listener outside a drain declares again at once; otherwise consumeEnded or the replay under way decides",
	evWaiting:         "a channel is held: assignments' reason for waiting is no longer the row's",
	evMoveDone:        "only the move under way ends (no move, or another's generation)",
	evDrainDone:       "only a running drain ends: none began, or it ended already",
}

// TestListenerFSM_EveryStateAndEvent walks every (fixture, event) pair:
// what is not listed must change nothing and ask for nothing, for a reason
// fsmIgnoredWhy gives.
func TestListenerFSM_EveryStateAndEvent(t *testing.T) {
	for name, f := range fsmFixtures() {
		listed, ok := listenerFSMTable[name]
		if !ok {
			t.Fatalf("fixture %s has no row in the table", name)
		}
		for ev := range evCount {
			t.Run(name+"/"+ev.String(), func(t *testing.T) {
				before := render(f, nil)
				got, effs := f.next(fsmEvent(f, ev))
				after := render(got, effs)
				want, ok := listed[ev]
				if !ok {
					if _, why := fsmIgnoredWhy[ev]; !why {
						t.Errorf("%s ignores %s, and fsmIgnoredWhy does not say why", name, ev)
					}
					want = before
				}
				if after != want {
					t.Fatalf("next(%s, %s):\n got %s\nwant %s", name, ev, after, want)
				}
			})
		}
	}
}

// step runs events on f, each with generations never used before, and returns the
// state and the last step's effects.
func step(t *testing.T, f listenerFSM, evs ...levent) (listenerFSM, []effect) {
	t.Helper()
	var effs []effect
	for _, ev := range evs {
		if ev.fresh == ([2]uint64{}) {
			ev.fresh = [2]uint64{actors.NextGeneration(), actors.NextGeneration()}
		}
		f, effs = f.next(ev)
	}
	return f, effs
}

func effKinds(effs []effect) []effKind {
	out := make([]effKind, len(effs))
	for i, e := range effs {
		out[i] = e.kind
	}
	return out
}

func lastState(t *testing.T, effs []effect) effect {
	t.Helper()
	for i := len(effs) - 1; i >= 0; i-- {
		if effs[i].kind == effSetState {
			return effs[i]
		}
	}
	t.Fatalf("no set state in %v", effKinds(effs))
	return effect{}
}

func TestListenerFSM_StaleResultsChangeNothing(t *testing.T) {
	f := fsmFixtures()["consuming"]
	tests := []struct {
		name string
		ev   levent
	}{
		{"a replay of an older setup", levent{kind: evTopology, topo: &topologyDone{gen: 10, setup: 19, err: errors.New("boom")}}},
		{"a replay on an older channel", levent{kind: evTopology, topo: &topologyDone{gen: 9, setup: 20}}},
		{"the end of an older consumer", levent{kind: evConsumeEnded, gen: 10, setup: 19}},
		{"a broker cancel of an older channel", levent{kind: evBrokerCancelled, gen: 9, setup: 20}},
		{"the end of a consumer whose channel closed", levent{kind: evConsumeEnded, gen: 10, setup: 20, closed: true}},
		{"a move's end of another generation", levent{kind: evMoveDone, gen: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, effs := step(t, f, tt.ev)
			if render(got, effs) != render(f, nil) {
				t.Fatalf("got %s, want nothing changed", render(got, effs))
			}
		})
	}
	t.Run("a retry timer of an older channel only forgets the timer", func(t *testing.T) {
		got, effs := step(t, f, levent{kind: evResetup, gen: 9})
		if len(effs) != 1 || effs[0].kind != effTimerFired || got.State != registry.ListenerConsuming {
			t.Fatalf("got %s", render(got, effs))
		}
	})
}

func TestListenerFSM_RefusedReplaysFailAfterMaxInARow(t *testing.T) {
	refusal := &amqp.Error{Code: amqp.PreconditionFailed, Reason: "inequivalent arg", Recover: true}
	f := fsmFixtures()["declaring"]
	for i := 1; i <= maxReplayFailures; i++ {
		var effs []effect
		f, effs = step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, err: refusal}})
		want := registry.ListenerDeclaring
		if i == maxReplayFailures {
			want = registry.ListenerFailed
		}
		if st := lastState(t, effs); st.state != want || f.Refusals != i {
			t.Fatalf("refusal %d: state %s refusals %d, want %s %d", i, st.state, f.Refusals, want, i)
		}
		// assignments replaces the closed channel
		f, _ = step(t, f, levent{kind: evLost, id: f.ChID, err: refusal}, levent{kind: evAssigned, assigned: &actors.ChannelAssigned{ID: fmt.Sprint("c", i)}})
	}
	f, effs := step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, queue: "q"}})
	if st := lastState(t, effs); st.state != registry.ListenerConsuming || f.Refusals != 0 || f.Retries != 0 {
		t.Fatalf("after a replay that worked: %s", render(f, effs))
	}
}

func TestListenerFSM_ARefusalThatClosedTheChannelFirstCountsOnTheLoss(t *testing.T) {
	refusal := &amqp.Error{Code: amqp.NotFound, Reason: "no exchange", Recover: true}
	f := fsmFixtures()["declaring"]
	f.Refusals, f.RefusedGen = maxReplayFailures-1, 3
	got, effs := step(t, f, levent{kind: evLost, id: "c1", err: refusal})
	if st := lastState(t, effs); st.state != registry.ListenerFailed || !strings.Contains(st.why, "5 times in a row") {
		t.Fatalf("got %s", render(got, effs))
	}
	// The replay's own result, now stale, does not count it twice.
	got, _ = step(t, got, levent{kind: evTopology, topo: &topologyDone{gen: 10, setup: 20, err: refusal}})
	if got.Refusals != maxReplayFailures {
		t.Fatalf("refusals %d after the stale result, want %d", got.Refusals, maxReplayFailures)
	}
}

func TestListenerFSM_ReplayErrorsOnAnOpenChannelRetryWithAGrowingDelay(t *testing.T) {
	f := fsmFixtures()["declaring"]
	var delays []time.Duration
	for range 8 {
		var effs []effect
		f, effs = step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, err: errors.New("timeout")}})
		for _, e := range effs {
			if e.kind == effArmTimer {
				delays = append(delays, e.delay)
			}
		}
		f, _ = step(t, f, levent{kind: evResetup, gen: f.Gen})
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, resetupMax, resetupMax}
	if fmt.Sprint(delays) != fmt.Sprint(want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
}

func TestListenerFSM_ABindingAddedWhileDownAndRefusedIsDropped(t *testing.T) {
	refusal := &amqp.Error{Code: amqp.NotFound, Reason: "no exchange", Recover: true}
	down := fsmFixtures()["reconnecting"]
	down, _ = step(t, down, levent{kind: evBindingChange, binding: fsmAdded, add: true})
	f, _ := step(t, down, levent{kind: evAssigned, assigned: &actors.ChannelAssigned{ID: "c2"}})
	rerr := &replayError{cmd: command{kind: cmdBind, binding: fsmAdded, unapplied: true}, queue: "q", err: refusal}
	t.Run("on an open channel the rest is replayed at once", func(t *testing.T) {
		got, effs := step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, queue: "q", err: rerr}})
		if fmt.Sprint(bindingsOf(got.Cmds)) != "[x/k]" || !slices.Contains(effKinds(effs), effReplay) {
			t.Fatalf("got %s", render(got, effs))
		}
	})
	t.Run("on a closed channel the row says which binding was dropped", func(t *testing.T) {
		got, effs := step(t, f, levent{kind: evTopology, closed: true, topo: &topologyDone{gen: f.Gen, setup: f.Setup, queue: "q", err: rerr}})
		if st := lastState(t, effs); !strings.HasPrefix(st.why, "dropped binding x/added: ") || slices.Contains(effKinds(effs), effReplay) {
			t.Fatalf("got %s", render(got, effs))
		}
	})
	t.Run("a stale result drops it too and takes back its refusal", func(t *testing.T) {
		lost, _ := step(t, f, levent{kind: evLost, id: "c2", err: refusal})
		if lost.Refusals != 1 {
			t.Fatalf("refusals %d after the loss, want 1", lost.Refusals)
		}
		stale := levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, queue: "q", err: rerr}}
		got, _ := step(t, lost, stale)
		if fmt.Sprint(bindingsOf(got.Cmds)) != "[x/k]" || got.Refusals != 0 {
			t.Fatalf("got %s", render(got, nil))
		}
		again, effs := step(t, got, stale) // dropped already: nothing more
		if render(again, effs) != render(got, nil) {
			t.Fatalf("a second stale refusal: got %s", render(again, effs))
		}
	})
}

func TestListenerFSM_BindingChanges(t *testing.T) {
	consuming := fsmFixtures()["consuming"]
	notFound := &amqp.Error{Code: amqp.NotFound, Reason: "no exchange", Recover: true}
	refused := &amqp.Error{Code: amqp.AccessRefused, Reason: "no", Recover: true}
	respond := func(t *testing.T, effs []effect) error {
		t.Helper()
		if len(effs) == 0 || effs[len(effs)-1].kind != effRespond {
			t.Fatalf("no answer last in %v", effKinds(effs))
		}
		return effs[len(effs)-1].err
	}
	tests := []struct {
		name     string
		f        listenerFSM
		ev       levent
		wantErr  func(error) bool
		bindings string
	}{
		{"a binding without an exchange is refused", consuming, levent{kind: evBindingChange, binding: Binding{RoutingKey: "k"}, add: true},
			func(err error) bool { return errors.Is(err, ErrNoExchange) }, "[x/k]"},
		{"removing an unknown binding fails", consuming, levent{kind: evBindingChange, binding: fsmAdded},
			func(err error) bool {
				return errors.Is(err, ErrNoBinding) && strings.HasSuffix(err.Error(), "no binding x/added")
			}, "[x/k]"},
		{"a bind the channel's close cut is kept for the next replay", consuming,
			levent{kind: evBindingApplied, binding: fsmAdded, add: true, err: amqp.ErrClosed},
			func(err error) bool { return err == nil }, "[x/k]"},
		{"a refused bind is forgotten", consuming,
			levent{kind: evBindingApplied, binding: fsmAdded, add: true, err: notFound},
			func(err error) bool {
				var be *BindingError
				return errors.As(err, &be) && be.Op == "bind" && !be.Retried
			}, "[x/k]"},
		{"a failed unbind is retried on the next channel", consuming,
			levent{kind: evBindingApplied, binding: fsmBinding, err: refused},
			func(err error) bool {
				var be *BindingError
				return errors.As(err, &be) && be.Op == "unbind" && be.Retried
			}, "[x/k]"},
		{"an unbind the broker finds nothing for is answered as is", consuming,
			levent{kind: evBindingApplied, binding: fsmBinding, err: notFound},
			func(err error) bool { return err == notFound }, "[x/k]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, effs := step(t, tt.f, tt.ev)
			if err := respond(t, effs); !tt.wantErr(err) {
				t.Fatalf("answer %v", err)
			}
			if b := fmt.Sprint(bindingsOf(got.Cmds)); b != tt.bindings {
				t.Fatalf("bindings %s, want %s", b, tt.bindings)
			}
		})
	}
	t.Run("the record keeps the pending unbind and the unapplied mark", func(t *testing.T) {
		got, _ := step(t, consuming, levent{kind: evBindingApplied, binding: fsmBinding, err: refused})
		if n := len(got.Cmds); got.Cmds[n-2].kind != cmdUnbind || got.Cmds[n-1].kind != cmdConsume {
			t.Fatalf("record %+v: want the unbind before the consume", got.Cmds)
		}
		added, _ := step(t, consuming, levent{kind: evBindingChange, binding: fsmAdded, add: true})
		added, _ = step(t, added, levent{kind: evBindingApplied, binding: fsmAdded, add: true, err: amqp.ErrClosed})
		if !slices.ContainsFunc(added.Cmds, func(c command) bool { return c.binding.same(fsmAdded) && c.unapplied }) {
			t.Fatalf("record %+v: want x/added unapplied", added.Cmds)
		}
	})
	t.Run("a step leaves the record it was given alone", func(t *testing.T) {
		before := fmt.Sprint(consuming.Cmds)
		step(t, consuming, levent{kind: evBindingChange, binding: fsmBinding})
		if after := fmt.Sprint(consuming.Cmds); after != before {
			t.Fatalf("record changed from %s to %s", before, after)
		}
	})
}

func TestListenerFSM_Moves(t *testing.T) {
	to := func(id string) *actors.ChannelAssigned { return &actors.ChannelAssigned{ID: id, MovedFrom: "c1"} }
	t.Run("a second move while one runs gives the first new channel back", func(t *testing.T) {
		got, effs := step(t, fsmFixtures()["moving"], levent{kind: evAssigned, assigned: to("c4")})
		if got.MoveTo.ID != "c4" || len(effs) != 1 || effs[0].kind != effGiveBack || effs[0].id != "c2" {
			t.Fatalf("got %s", render(got, effs))
		}
	})
	t.Run("a move of a consuming listener retires its channel", func(t *testing.T) {
		got, effs := step(t, fsmFixtures()["consuming"], levent{kind: evAssigned, assigned: to("c4")})
		if got.MoveTo == nil || got.MoveGen != 10 || fmt.Sprint(effKinds(effs)) != fmt.Sprint([]effKind{effCancelConsumer, effBeginMove, effStopTimer}) {
			t.Fatalf("got %s", render(got, effs))
		}
	})
	t.Run("a move of a declaring listener takes the new channel at once", func(t *testing.T) {
		got, effs := step(t, fsmFixtures()["declaring"], levent{kind: evAssigned, assigned: to("c4")})
		if got.MoveTo != nil || got.ChID != "c4" || effs[len(effs)-1].kind != effGiveBack || effs[len(effs)-1].id != "c1" {
			t.Fatalf("got %s", render(got, effs))
		}
	})
	t.Run("the new channel lost first: the listener stays", func(t *testing.T) {
		got, effs := step(t, fsmFixtures()["moving"], levent{kind: evLost, id: "c2"})
		if got.MoveTo != nil || got.ChID != "c1" || len(effs) != 1 || effs[0].kind != effUnretire {
			t.Fatalf("got %s", render(got, effs))
		}
	})
}

func TestListenerFSM_ADrainCutSaysSo(t *testing.T) {
	got, effs := step(t, fsmFixtures()["draining"], levent{kind: evDrainDone, drained: Drained{Listener: "l", Cut: 2}})
	if st := lastState(t, effs); st.state != registry.ListenerDrained || !strings.HasPrefix(st.why, "drain deadline passed: 2 handlers cancelled") {
		t.Fatalf("got %s", render(got, effs))
	}
}

func TestListenerFSM_EventsAndEffectsHaveNamesAndSteps(t *testing.T) {
	for ev := range evCount {
		if ev.String() == "unknown" || steps[ev] == nil {
			t.Errorf("event %d has no name or no step", ev)
		}
	}
	for e := range effCount {
		if e.String() == "unknown" || doers[e] == nil {
			t.Errorf("effect %d has no name or no doer", e)
		}
	}
	if evCount.String() != "unknown" || effCount.String() != "unknown" {
		t.Error("an out-of-range kind should be unknown")
	}
}

func TestListenerFSM_BindingsAddedDuringAReplay(t *testing.T) {
	declaring := fsmFixtures()["declaring"]
	f, _ := step(t, declaring, levent{kind: evBindingChange, binding: fsmAdded, add: true})
	t.Run("are bound once the replay that did not include them is done", func(t *testing.T) {
		_, effs := step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: 10, setup: 20, queue: "q", replayed: []Binding{fsmBinding}}})
		i := slices.IndexFunc(effs, func(e effect) bool { return e.kind == effBindPending })
		if i < 0 || fmt.Sprint(effs[i].bindings) != "[x/added]" || effs[i].gen != 10 {
			t.Fatalf("effects %v: want bind pending of x/added on 10", effKinds(effs))
		}
	})
	unapplied := func(f listenerFSM) bool {
		return slices.ContainsFunc(f.Cmds, func(c command) bool { return c.binding.same(fsmAdded) && c.unapplied })
	}
	tests := []struct {
		name          string
		err           error
		kept, pending bool
	}{
		{"bound: recorded as applied", nil, true, false},
		{"cut by the channel's close: the next replay tries it", amqp.ErrClosed, true, true},
		{"refused by the broker: dropped", &amqp.Error{Code: amqp.NotFound, Recover: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, effs := step(t, f, levent{kind: evPendingBound, gen: 10, binding: fsmAdded, err: tt.err})
			kept := slices.ContainsFunc(bindingsOf(got.Cmds), fsmAdded.same)
			if kept != tt.kept || unapplied(got) != tt.pending || effs[len(effs)-1].kind != effWriteRow {
				t.Fatalf("got %s: want kept %v, unapplied %v, the row written", render(got, effs), tt.kept, tt.pending)
			}
		})
	}
}

func TestListenerFSM_AnUnbindWhoseExchangeIsGoneIsDone(t *testing.T) {
	down := fsmFixtures()["reconnecting"]
	down, _ = step(t, down, levent{kind: evBindingChange, binding: fsmBinding}) // recorded as a pending unbind
	f, _ := step(t, down, levent{kind: evAssigned, assigned: &actors.ChannelAssigned{ID: "c2"}})
	rerr := &replayError{cmd: command{kind: cmdUnbind, binding: fsmBinding}, queue: "q", err: &amqp.Error{Code: amqp.NotFound, Recover: true}}
	got, _ := step(t, f, levent{kind: evTopology, closed: true, topo: &topologyDone{gen: f.Gen, setup: f.Setup, queue: "q", err: rerr}})
	if slices.ContainsFunc(got.Cmds, func(c command) bool { return c.kind == cmdUnbind }) {
		t.Fatalf("record %+v: the unbind of a binding whose exchange is gone stays pending", got.Cmds)
	}
	got, _ = step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, queue: "q", unbound: []Binding{fsmBinding}}})
	if slices.ContainsFunc(got.Cmds, func(c command) bool { return c.kind == cmdUnbind }) {
		t.Fatalf("record %+v: an unbind the replay applied stays pending", got.Cmds)
	}
}

func TestListenerFSM_AFederatorAnswersWithItsParentsName(t *testing.T) {
	f := newListenerFSM(&Spec{Name: "l@b2", parent: "l"})
	f.Drain = drainOver
	_, effs := f.next(levent{kind: evDrain})
	if len(effs) != 1 || effs[0].result.Listener != "l" {
		t.Fatalf("effects %+v: want an answer naming l", effs)
	}
}
