package listener

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// The listener's decisions, as a pure state machine: [listenerFSM.next]
// takes the state and one event (a message the actor received, translated
// by listener.event) and returns the next state with the effects the actor
// then carries out, in order (listener_effects.go). Nothing here touches
// the network, a timer, a goroutine or an actor, so every (state, event)
// pair is table-tested (listener_fsm_test.go).
//
//	waiting, reconnecting, failed --assigned--> declaring (replay on the new channel)
//	declaring --replay ok--> consuming
//	declaring --replay refused (channel exception)--> declaring; failed after 5 in a row
//	declaring --replay failed, channel open--> declaring (again after 100 ms ... 5 s)
//	consuming --broker cancel, consume ended--> declaring (again on the same channel)
//	consuming --assigned (moved)--> consuming, the old channel retired
//	          --move done--> declaring on the new channel, the old one given back
//	any but a drain --lost--> reconnecting (failed when the loss was the 5th refusal in a row)
//	any --Drain--> draining --drain done--> drained (the channel is held; nothing consumes)
//
// The state the registry row shows (State) is one dimension; a channel held
// (HasCh), a move (MoveTo) and a drain (Drain) are the others. Results of
// goroutines carry the channel generation (Gen) and the replay (Setup) they
// were started for: a result of another one is stale and changes nothing
// (a refused run-time binding in it still counts, see topology).
type listenerFSM struct {
	State registry.ListenerState // what the row shows
	HasCh bool                   // a channel is held
	ChID  string                 // its id ("" without one)
	Gen   uint64                 // the channel generation: a fresh one per channel assigned or lost
	Setup uint64                 // the replay under way, or whose consumer runs
	Queue string                 // the queue's name once a replay declared it (for logs)

	Drain   drainPhase
	MoveTo  *actors.ChannelAssigned // a move's new channel, while the old one is retired (opaque: only its ID is read)
	MoveGen uint64                  // the generation the move retires

	Retries    int    // replays in a row that failed without closing the channel
	Refusals   int    // replays in a row the broker refused with a channel exception
	RefusedGen uint64 // channel generation of the last refusal counted
	Logged     string // the broker's refusal last logged at Error: the same again is logged at Debug

	Cmds []command // the recorded topology; a step works on its own copy

	// Set once, from the spec.
	Name     string // the listener's name, for errors
	Answers  string // the name a Drained answer carries (a federator's parent's)
	Outlives bool   // the queue outlives its channel: a pending unbind is kept for the next replay
}

// drainPhase is where a listener's drain stands.
type drainPhase uint8

const (
	drainNone    drainPhase = iota
	drainRunning            // Drain began: no handler starts, the consumer is cancelled
	drainOver               // drained: answered, held until stopped
)

// newListenerFSM is the state of a listener made from the normalized spec.
func newListenerFSM(spec *Spec) listenerFSM {
	answers := spec.Name
	if spec.parent != "" {
		answers = spec.parent
	}
	return listenerFSM{Cmds: initialCommands(*spec), Name: spec.Name, Answers: answers, Outlives: spec.Queue.outlivesChannel()}
}

// evKind is what happened to a listener.
type evKind uint8

const (
	evStarted         evKind = iota // the actor started
	evStopping                      // it stops
	evRestarting                    // it restarts (a new instance replays from scratch)
	evStopped                       // it stopped
	evAssigned                      // a channel assigned (assigned; a move when its MovedFrom is set)
	evMoveDone                      // the channel a move retires is idle (gen)
	evWaiting                       // assignments has no channel to give yet (why)
	evLost                          // a channel was lost (id, err)
	evTopology                      // a replay ended (topo)
	evPendingBound                  // a binding added during a replay was bound after it (binding, err)
	evBrokerCancelled               // the broker cancelled the consumer (gen, setup)
	evConsumeEnded                  // the consumer's deliveries closed (gen, setup)
	evResetup                       // a retry's delay passed (gen)
	evBindingChange                 // AddBinding or RemoveBinding (binding, add, to)
	evBindingApplied                // its bind or unbind on the channel ended (binding, add, existed, err, to)
	evDrain                         // Drain (deadline, to)
	evDrainDone                     // the drain's watcher saw nothing run any more (result)
	evFlush                         // counters changed: write the row
	evCount                         // number of events, for tests
)

var evNames = [...]string{"started", "stopping", "restarting", "stopped", "assigned", "move done", "waiting", "lost",
	"topology", "pending bound", "broker cancelled", "consume ended", "resetup", "binding change", "binding applied",
	"drain", "drain done", "flush"}

func (e evKind) String() string {
	if int(e) < len(evNames) {
		return evNames[e]
	}
	return "unknown"
}

// levent is one event with what it carries. The actor fills fresh and
// closed for every event: the FSM draws no numbers and asks no channel.
type levent struct {
	kind       evKind
	gen, setup uint64    // the generations a goroutine's result was tagged with
	fresh      [2]uint64 // unused generation numbers the step may take: a channel's, then a replay's
	closed     bool      // the held channel is closed (amqp091's IsClosed, read when the event arrived)
	assigned   *actors.ChannelAssigned
	id         string // a lost channel's id
	why        string // why assignments has no channel yet
	err        error
	topo       *topologyDone
	binding    Binding
	add        bool
	existed    bool       // the binding was in the record before the change
	to         *actor.PID // who gets the answer (nil: nobody)
	deadline   time.Time
	drained    Drained
}

// effKind is one thing the actor does.
type effKind uint8

const (
	effInit           effKind = iota // remember self, make the worker pool
	effRequestChannel                // ask assignments for a channel
	effCancel                        // cancel the listener's ctx: its goroutines end
	effRelease                       // give the channel back (a restart replays on a fresh one)
	effDeleteRow                     // delete its listeners row
	effSetState                      // show state with why (see listener.setState) and write the row
	effWaitingReason                 // show why there is no channel yet, and write the row
	effWriteRow                      // write the row
	effTakeChannel                   // hold assigned's channel under gen: store the channel state, watch its cancels
	effDropChannel                   // the channel id is lost (err): store gen, which holds none
	effReplay                        // replay the record on the channel of gen, as replay setup
	effSetupOver                     // the current replay is over: the drain's watcher may look again
	effQueueDeclared                 // the replay declared queue: store it
	effBindPending                   // bind bindings (added during the replay) on the channel of gen
	effForward                       // forward topo's deliveries to the workers
	effConsuming                     // consuming: no channel is retired any more; log it
	effStopTimer                     // stop the retry timer
	effArmTimer                      // retry the replay of gen after delay
	effTimerFired                    // the retry timer fired: forget it
	effCancelConsumer                // cancel the consumer on the channel (basic.cancel, in a goroutine)
	effBeginMove                     // retire the channel of gen for assigned; a watcher reports moveDone
	effUnretire                      // the new channel of a move died first: no channel is retired
	effGiveBack                      // give channel id back to assignments
	effBeginDrain                    // begin the drain (deadline; cancel the consumer first if cancel)
	effDrainWaiter                   // to is answered once drained
	effAnswerDrain                   // answer to with result now (drained before)
	effDrained                       // the drain is over: answer every waiter with result
	effApplyBinding                  // bind or unbind on the channel in a goroutine; evBindingApplied reports
	effRespond                       // answer to with BindingChanged{err}
	effFlushed                       // the counters were flushed: write the row
	effLog                           // log msg at level with args
	effCount                         // number of effects, for tests
)

var effNames = [...]string{"init", "request channel", "cancel", "release", "delete row", "set state", "waiting reason",
	"write row", "take channel", "drop channel", "replay", "setup over", "queue declared", "bind pending", "forward",
	"consuming", "stop timer", "arm timer", "timer fired", "cancel consumer", "begin move", "unretire", "give back",
	"begin drain", "drain waiter", "answer drain", "drained", "apply binding", "respond", "flushed", "log"}

func (e effKind) String() string {
	if int(e) < len(effNames) {
		return effNames[e]
	}
	return "unknown"
}

// effect is one effKind with what it needs.
type effect struct {
	kind       effKind
	state      registry.ListenerState
	why        string
	gen, setup uint64
	id         string
	assigned   *actors.ChannelAssigned
	topo       *topologyDone
	bindings   []Binding
	binding    Binding
	add        bool
	existed    bool
	err        error
	to         *actor.PID
	deadline   time.Time
	cancel     bool
	delay      time.Duration
	result     Drained
	level      slog.Level
	args       []any
}

// effects collects a step's effects.
type effects []effect

func (out *effects) add(e effect) { *out = append(*out, e) }

// steps holds the transition of each event.
var steps = [evCount]func(*listenerFSM, levent, *effects){
	evStarted:         (*listenerFSM).started,
	evStopping:        (*listenerFSM).stopping,
	evRestarting:      (*listenerFSM).restarting,
	evStopped:         (*listenerFSM).stopped,
	evAssigned:        (*listenerFSM).assigned,
	evMoveDone:        (*listenerFSM).moveDone,
	evWaiting:         (*listenerFSM).waiting,
	evLost:            (*listenerFSM).lost,
	evTopology:        (*listenerFSM).topology,
	evPendingBound:    (*listenerFSM).pendingBound,
	evBrokerCancelled: (*listenerFSM).brokerCancelled,
	evConsumeEnded:    (*listenerFSM).consumeEnded,
	evResetup:         (*listenerFSM).resetup,
	evBindingChange:   (*listenerFSM).bindingChange,
	evBindingApplied:  (*listenerFSM).bindingApplied,
	evDrain:           (*listenerFSM).drain,
	evDrainDone:       (*listenerFSM).drainDone,
	evFlush:           (*listenerFSM).flush,
}

// next returns the state after ev and the effects to carry out, in order.
// An event that means nothing in the current state (a stale result, a
// late timer, a drain's second end) changes nothing and asks for nothing.
func (f listenerFSM) next(ev levent) (listenerFSM, []effect) {
	f.Cmds = slices.Clone(f.Cmds) // the record is changed in place by the topology helpers
	var out effects
	steps[ev.kind](&f, ev, &out)
	return f, out
}

// setState shows st with why.
func (f *listenerFSM) setState(out *effects, st registry.ListenerState, why string) {
	f.State = st
	out.add(effect{kind: effSetState, state: st, why: why})
}

func (f *listenerFSM) log(out *effects, level slog.Level, msg string, args ...any) {
	out.add(effect{kind: effLog, level: level, why: msg, args: args})
}

// consuming reports whether the consumer runs on a channel held.
func (f *listenerFSM) consuming() bool { return f.HasCh && f.State == registry.ListenerConsuming }

// mayConsume reports whether a consumer may run on the channel held (a
// replay under way may have started it).
func (f *listenerFSM) mayConsume() bool {
	switch f.State {
	case registry.ListenerConsuming, registry.ListenerDraining, registry.ListenerDeclaring:
		return f.HasCh
	}
	return false
}

// cancelConsumer cancels the consumer of the channel held, if one may run.
func (f *listenerFSM) cancelConsumer(out *effects) {
	if f.mayConsume() {
		out.add(effect{kind: effCancelConsumer})
	}
}

func (f *listenerFSM) started(_ levent, out *effects) {
	out.add(effect{kind: effInit})
	f.setState(out, registry.ListenerWaiting, "")
	out.add(effect{kind: effRequestChannel})
}

func (f *listenerFSM) stopping(_ levent, out *effects) {
	*out = append(*out, effect{kind: effCancel}, effect{kind: effStopTimer})
}

// restarting: the next instance replays its topology from scratch; the
// channel goes back so that it starts on a fresh one (its consumer tag
// would clash on this one).
func (f *listenerFSM) restarting(_ levent, out *effects) {
	*out = append(*out, effect{kind: effCancel}, effect{kind: effStopTimer}, effect{kind: effRelease})
}

func (f *listenerFSM) stopped(_ levent, out *effects) { out.add(effect{kind: effDeleteRow}) }

func (f *listenerFSM) flush(_ levent, out *effects) { out.add(effect{kind: effFlushed}) }

func (f *listenerFSM) assigned(ev levent, out *effects) {
	if ev.assigned.MovedFrom != "" {
		f.startMove(ev, out)
		return
	}
	f.adopt(ev.assigned, ev.fresh, out)
}

// adopt takes m's channel under a fresh generation and replays the
// topology on it, unless a drain began (the channel is held, nothing
// consumes on it).
func (f *listenerFSM) adopt(m *actors.ChannelAssigned, fresh [2]uint64, out *effects) {
	f.Gen, f.HasCh, f.ChID, f.Retries = fresh[0], true, m.ID, 0
	out.add(effect{kind: effTakeChannel, gen: f.Gen, assigned: m})
	if f.Drain != drainNone {
		return
	}
	f.setup(f.Gen, fresh[1], out)
}

// setup replays the record on the channel of gen as replay setup.
func (f *listenerFSM) setup(gen, setup uint64, out *effects) {
	f.Setup = setup
	f.setState(out, registry.ListenerDeclaring, "")
	out.add(effect{kind: effReplay, gen: gen, setup: setup})
}

// startMove retires the channel held for ev's (see move.go), or takes the
// new channel at once when nothing consumes on the old one.
func (f *listenerFSM) startMove(ev levent, out *effects) {
	to := ev.assigned
	if f.MoveTo != nil { // a second move while one runs: the newest channel wins
		out.add(effect{kind: effGiveBack, id: f.MoveTo.ID})
		f.MoveTo = to
		return
	}
	if !f.HasCh || f.Drain != drainNone || f.State != registry.ListenerConsuming {
		f.adoptInstead(to, ev.fresh, out)
		return
	}
	f.MoveTo, f.MoveGen = to, f.Gen
	f.cancelConsumer(out)
	*out = append(*out, effect{kind: effBeginMove, gen: f.Gen, assigned: to}, effect{kind: effStopTimer})
}

// adoptInstead takes to in place of the channel held, given back.
func (f *listenerFSM) adoptInstead(to *actors.ChannelAssigned, fresh [2]uint64, out *effects) {
	old := f.ChID
	f.adopt(to, fresh, out)
	if old != "" && old != to.ID {
		out.add(effect{kind: effGiveBack, id: old})
	}
}

// moveDone takes the move's channel once the old one is retired.
func (f *listenerFSM) moveDone(ev levent, out *effects) {
	if f.MoveTo == nil || f.MoveGen != ev.gen {
		return // no move, or another's
	}
	to := f.MoveTo
	f.MoveTo, f.MoveGen = nil, 0
	f.adoptInstead(to, ev.fresh, out)
}

func (f *listenerFSM) waiting(ev levent, out *effects) {
	if !f.HasCh { // still waiting: the row says why (or no longer)
		out.add(effect{kind: effWaitingReason, why: ev.why})
	}
}

func (f *listenerFSM) lost(ev levent, out *effects) {
	if f.MoveTo != nil {
		if ev.id == f.MoveTo.ID { // the new channel died first: stay, a replacement follows
			f.MoveTo, f.MoveGen = nil, 0
			out.add(effect{kind: effUnretire})
			return
		}
		// The retired channel died: the broker requeued what it had unacked.
		to := f.MoveTo
		f.MoveTo, f.MoveGen = nil, 0
		f.adopt(to, ev.fresh, out)
		return
	}
	old := f.Gen
	f.Gen, f.HasCh, f.ChID = ev.fresh[0], false, "" // acks of the old channel's deliveries are dropped from now on
	msg := "channel lost"
	if ev.err != nil {
		msg += ": " + redact.Error(ev.err)
	}
	var ae *amqp.Error
	isAMQP := errors.As(ev.err, &ae) // not in the condition below: the drain case needs ae too
	refusal := (f.State == registry.ListenerDeclaring || f.State == registry.ListenerFailed) && isAMQP && ae.Recover
	level := slog.LevelWarn
	switch {
	case refusal: // the refusal is logged once, here or by the replay's result
		level = f.logLevel(ev.err)
	case ae != nil && ae.Error() == f.Logged: // the same refusal, during a drain say
		level = slog.LevelDebug
	}
	out.add(effect{kind: effDropChannel, gen: f.Gen, id: ev.id, why: msg, level: level})
	if refusal {
		// The replay's refusal closed the channel before its result
		// arrived (that result is now stale): count it here.
		if st, why := f.refused(old, redact.Error(ev.err), ev.err); st == registry.ListenerFailed {
			f.setState(out, st, why)
			return
		}
	}
	if f.Drain != drainNone {
		return // the broker requeued what this channel had unacked
	}
	f.setState(out, registry.ListenerReconnecting, msg)
}

// refused counts the broker's refusal err of the replay on the channel
// of gen (once per channel) and returns the state to show with its
// reason: failed after maxReplayFailures in a row, or at once when
// retrying cannot change it (a 406 on a declare, see conflictHint).
func (f *listenerFSM) refused(gen uint64, why string, err error) (registry.ListenerState, string) {
	if gen != f.RefusedGen {
		f.RefusedGen = gen
		f.Refusals++
	}
	if hint := conflictHint(err); hint != "" {
		return registry.ListenerFailed, "broker refused the topology, and will until the conflict is fixed: " + why + "; " + hint
	}
	if f.Refusals >= maxReplayFailures {
		return registry.ListenerFailed, fmt.Sprintf("broker refused the topology %d times in a row: %s", f.Refusals, why)
	}
	return registry.ListenerDeclaring, why
}

// logLevel is the level of a line about the broker's refusal err: Error
// the first time, Debug when it is the one logged last (the listener
// keeps retrying a refusal, and a conflict repeats until it is fixed).
func (f *listenerFSM) logLevel(err error) slog.Level {
	key := redact.Error(err)
	if ae := (*amqp.Error)(nil); errors.As(err, &ae) {
		key = ae.Error()
	}
	if key == f.Logged {
		return slog.LevelDebug
	}
	f.Logged = key
	return slog.LevelError
}

// retry replays again on the channel of gen after a growing delay.
func (f *listenerFSM) retry(gen uint64, why string, out *effects) {
	f.Retries++
	delay := min(resetupFirst<<min(f.Retries-1, 10), resetupMax)
	out.add(effect{kind: effArmTimer, gen: gen, delay: delay})
	f.setState(out, registry.ListenerDeclaring, why)
}

// brokerCancelled and consumeEnded declare the queue again when the
// broker ended the consumer; not during a move, whose own basic.cancel
// ends it (consuming again on the retired channel would take deliveries
// no handler may start there).
func (f *listenerFSM) brokerCancelled(ev levent, out *effects) {
	if f.Drain == drainNone && f.MoveTo == nil && ev.gen == f.Gen && ev.setup == f.Setup && f.consuming() && !ev.closed {
		// Declare again at once; prefetched deliveries are still handled.
		f.log(out, slog.LevelWarn, "consumer cancelled by the broker; declaring the queue again", "queue", f.Queue)
		out.add(effect{kind: effStopTimer})
		f.setup(ev.gen, ev.fresh[1], out)
	}
}

func (f *listenerFSM) consumeEnded(ev levent, out *effects) {
	if f.Drain == drainNone && f.MoveTo == nil && ev.gen == f.Gen && ev.setup == f.Setup && f.HasCh && !ev.closed {
		f.log(out, slog.LevelWarn, "consumer cancelled by the broker; declaring the queue again", "queue", f.Queue)
		f.retry(ev.gen, "consumer cancelled by the broker", out)
	}
}

func (f *listenerFSM) resetup(ev levent, out *effects) {
	out.add(effect{kind: effTimerFired})
	if f.Drain == drainNone && f.MoveTo == nil && ev.gen == f.Gen && f.HasCh {
		f.setup(ev.gen, ev.fresh[1], out)
	}
}

func (f *listenerFSM) drain(ev levent, out *effects) {
	switch f.Drain {
	case drainOver:
		out.add(effect{kind: effAnswerDrain, to: ev.to, result: Drained{Listener: f.Answers}}) // drained before: nothing more was done
		return
	case drainRunning:
		out.add(effect{kind: effDrainWaiter, to: ev.to})
		return
	}
	f.Drain = drainRunning
	// The consumer is cancelled first: a delivery requeued from then on
	// waits for its cancel-ok.
	*out = append(*out, effect{kind: effDrainWaiter, to: ev.to}, effect{kind: effBeginDrain, deadline: ev.deadline, cancel: f.mayConsume()})
	f.setState(out, registry.ListenerDraining, "")
}

func (f *listenerFSM) drainDone(ev levent, out *effects) {
	if f.Drain != drainRunning {
		return
	}
	f.Drain = drainOver
	r := ev.drained
	f.log(out, slog.LevelInfo, "drained", "queue", f.Queue, "requeued", r.Requeued, "finished", r.Finished, "cut", r.Cut)
	why := ""
	if r.Cut > 0 {
		why = fmt.Sprintf("drain deadline passed: %d handlers cancelled, their deliveries requeued", r.Cut)
	}
	f.setState(out, registry.ListenerDrained, why)
	out.add(effect{kind: effDrained, result: r})
}
