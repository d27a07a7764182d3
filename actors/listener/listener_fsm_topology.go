package listener

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// The listener FSM's steps on its topology: a replay's result, bindings
// added during a replay, and run-time binding changes.

// topology handles the end of a replay.
func (f *listenerFSM) topology(ev levent, out *effects) {
	m := ev.topo
	if m.gen != f.Gen || m.setup != f.Setup {
		// A replay on a channel we no longer hold. Its refusal of a binding
		// added while the listener was down still counts: the channel's
		// close (the refusal's) may have been acted on first.
		if re := (*replayError)(nil); errors.As(m.err, &re) && re.cmd.kind == cmdBind && re.cmd.unapplied {
			f.dropUnapplied(re, m, out)
		}
		return
	}
	f.replayed(ev, out)
	// After forward counted its goroutine: the drain never sees neither.
	out.add(effect{kind: effSetupOver})
}

// replayed handles the end of the current replay.
func (f *listenerFSM) replayed(ev levent, out *effects) {
	m := ev.topo
	for _, b := range m.unbound {
		f.Cmds = appliedUnbind(f.Cmds, b)
	}
	if re := (*replayError)(nil); errors.As(m.err, &re) && re.cmd.kind == cmdUnbind && notFound(m.err) {
		f.Cmds = appliedUnbind(f.Cmds, re.cmd.binding) // its exchange is gone, and the binding with it
	}
	if re := (*replayError)(nil); errors.As(m.err, &re) && re.cmd.kind == cmdBind && re.cmd.unapplied {
		// A binding added while the listener was down, refused by the
		// broker (its exchange missing, a declare conflict): drop it, as
		// a refused AddBinding is dropped while consuming, and replay the
		// rest on the next channel; the listener is not to blame.
		why := f.dropUnapplied(re, m, out)
		if ev.closed {
			f.setState(out, registry.ListenerDeclaring, "dropped binding "+re.cmd.binding.String()+": "+why)
			return
		}
		f.setup(m.gen, ev.fresh[1], out)
		return
	}
	if m.err != nil {
		why := redact.Error(m.err)
		f.log(out, f.logLevel(m.err), "topology replay failed", "queue", m.queue, "err", why)
		var ae *amqp.Error
		if errors.As(m.err, &ae) && ae.Recover || ev.closed {
			// A channel exception closed the channel: assignments replaces it
			// (after a growing delay when it happens again and again).
			st, why := f.refused(m.gen, why, m.err)
			f.setState(out, st, why)
			return
		}
		f.retry(m.gen, why, out)
		return
	}
	f.Queue = m.queue
	out.add(effect{kind: effQueueDeclared, why: m.queue})
	f.Cmds = applied(f.Cmds, m.replayed)
	f.bindPending(m.gen, out)
	f.Retries, f.Refusals, f.Logged = 0, 0, ""
	out.add(effect{kind: effForward, gen: m.gen, setup: m.setup, topo: m})
	if f.Drain != drainNone {
		// Drain began during the replay: what the consume brings goes back.
		f.cancelConsumer(out)
		return
	}
	out.add(effect{kind: effConsuming})
	f.setState(out, registry.ListenerConsuming, "")
}

// bindPending binds, on the channel of gen, the bindings added while the
// replay ran (the replay did not include them; nothing else would apply
// them before the next reconnect).
func (f *listenerFSM) bindPending(gen uint64, out *effects) {
	var pending []Binding
	for _, c := range f.Cmds {
		if c.kind == cmdBind && c.unapplied {
			pending = append(pending, c.binding)
		}
	}
	if len(pending) > 0 {
		out.add(effect{kind: effBindPending, gen: gen, bindings: pending})
	}
}

// dropUnapplied forgets a binding added while the listener was down that
// the broker refused on replay, and undoes the refusal's count (the
// listener's own topology was not refused).
func (f *listenerFSM) dropUnapplied(re *replayError, m *topologyDone, out *effects) string {
	why := redact.Error(m.err)
	if !slices.ContainsFunc(bindingsOf(f.Cmds), re.cmd.binding.same) {
		return why // dropped already
	}
	f.Cmds, _ = removeBinding(f.Cmds, re.cmd.binding, false)
	if m.gen == f.RefusedGen && f.Refusals > 0 {
		f.Refusals--
	}
	f.log(out, slog.LevelError, "runtime binding refused by the broker; dropped", "queue", m.queue, "binding", re.cmd.binding.String(), "err", why)
	out.add(effect{kind: effWriteRow})
	return why
}

// pendingBound handles the bind of a binding added during a replay.
func (f *listenerFSM) pendingBound(ev levent, out *effects) {
	switch {
	case ev.err == nil:
		f.Cmds = applied(f.Cmds, []Binding{ev.binding})
	case errors.Is(ev.err, amqp.ErrClosed):
		// The channel closed first: the next replay tries the binding.
	default:
		f.Cmds, _ = removeBinding(f.Cmds, ev.binding, false)
		f.log(out, slog.LevelError, "runtime binding refused by the broker; dropped", "queue", f.Queue, "binding", ev.binding.String(), "err", redact.Error(ev.err))
	}
	out.add(effect{kind: effWriteRow})
}

// bindingChange records an AddBinding or RemoveBinding and, while
// consuming, applies it on the channel (evBindingApplied reports); else
// the next replay applies it and the answer is sent at once.
func (f *listenerFSM) bindingChange(ev levent, out *effects) {
	b := ev.binding
	if b.Exchange == "" {
		out.add(effect{kind: effRespond, to: ev.to, err: fmt.Errorf("warren: listener %s: %w", f.Name, ErrNoExchange)})
		return
	}
	consuming := f.consuming()
	existed := slices.ContainsFunc(bindingsOf(f.Cmds), b.same)
	if ev.add {
		f.Cmds = addBinding(f.Cmds, b, !consuming)
	} else {
		var found bool
		// Not consuming: the next replay unbinds, if the queue outlives
		// its channel (an exclusive or auto-delete queue goes with it).
		if f.Cmds, found = removeBinding(f.Cmds, b, !consuming && f.Outlives); !found {
			out.add(effect{kind: effRespond, to: ev.to, err: fmt.Errorf("warren: listener %s: %w %s", f.Name, ErrNoBinding, b)})
			return
		}
	}
	out.add(effect{kind: effWriteRow})
	if !consuming {
		out.add(effect{kind: effRespond, to: ev.to}) // applied by the next replay
		return
	}
	out.add(effect{kind: effApplyBinding, gen: f.Gen, binding: b, add: ev.add, existed: existed, to: ev.to})
}

// bindingApplied answers a binding change with the outcome of its bind or
// unbind on the channel, and keeps the record true to it.
func (f *listenerFSM) bindingApplied(ev levent, out *effects) {
	b, err := ev.binding, ev.err
	switch {
	case err != nil && ev.add && errors.Is(err, amqp.ErrClosed):
		// The channel closed under the bind (its ChannelLost is on its
		// way): like an add while not consuming, the next replay tries
		// it, and drops it if the broker refuses.
		if !ev.existed {
			f.Cmds = markUnapplied(f.Cmds, b)
		}
		err = nil
	case err != nil && ev.add:
		// Not applied (a missing exchange closes the channel with 404):
		// forget it, or every replay would fail the same way — unless it
		// was bound before this call, which changes nothing then.
		if !ev.existed {
			f.Cmds, _ = removeBinding(f.Cmds, b, false)
		}
		err = &BindingError{Listener: f.Name, Op: "bind", Binding: b, Err: err}
		out.add(effect{kind: effWriteRow})
	case err != nil && !notFound(err) && f.Outlives:
		// Not applied, and the binding may still be on the broker: the
		// next replay unbinds (a 404 means there is nothing to unbind).
		f.Cmds = insertBeforeConsume(f.Cmds, command{kind: cmdUnbind, binding: b})
		err = &BindingError{Listener: f.Name, Op: "unbind", Binding: b, Retried: true, Err: err}
	}
	out.add(effect{kind: effRespond, to: ev.to, err: err})
}
