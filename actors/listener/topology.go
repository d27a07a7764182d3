package listener

import (
	"errors"
	"slices"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
)

// A listener records every topology command it issues, in order, and
// replays the record on each new channel: Kazoo's kz_amqp_history, kept in
// the listener (as gen_listener keeps its bindings since 2019).

type cmdKind int

const (
	cmdDeclareQueue cmdKind = iota
	cmdQos
	cmdBind   // declares the binding's exchange first when it asks to
	cmdUnbind // a binding removed while not consuming, applied by the next replay
	cmdConsume
)

// A binding is one command (its exchange's declare goes with it), so that
// adding and removing it leaves nothing behind in the record.
type command struct {
	kind    cmdKind
	binding Binding // for cmdBind and cmdUnbind
	// unapplied marks a binding added at run time while the listener was
	// not consuming: the next replay tries it, and a broker refusal drops
	// it from the record instead of failing every replay after.
	unapplied bool
}

// initialCommands is the record a spec starts with.
func initialCommands(s Spec) []command {
	cmds := []command{{kind: cmdDeclareQueue}}
	if s.Prefetch > 0 {
		cmds = append(cmds, command{kind: cmdQos})
	}
	for _, b := range s.Bindings {
		cmds = append(cmds, command{kind: cmdBind, binding: b})
	}
	return append(cmds, command{kind: cmdConsume})
}

// addBinding records a binding, once; a pending unbind of it is dropped.
// The bind goes before the consume command, so a replay binds before it
// consumes.
func addBinding(cmds []command, b Binding, unapplied bool) []command {
	cmds, _ = prune(cmds, cmdUnbind, b)
	for _, c := range cmds {
		if c.kind == cmdBind && c.binding.same(b) {
			return cmds
		}
	}
	return insertBeforeConsume(cmds, command{kind: cmdBind, binding: b, unapplied: unapplied})
}

// markUnapplied marks the binding b of the record unapplied.
func markUnapplied(cmds []command, b Binding) []command {
	for i := range cmds {
		if cmds[i].kind == cmdBind && cmds[i].binding.same(b) {
			cmds[i].unapplied = true
		}
	}
	return cmds
}

// applied clears the unapplied marks of the bindings done (a replay ran
// them, or they were bound since); bindings added meanwhile keep theirs.
func applied(cmds []command, done []Binding) []command {
	for i := range cmds {
		if cmds[i].unapplied && slices.ContainsFunc(done, cmds[i].binding.same) {
			cmds[i].unapplied = false
		}
	}
	return cmds
}

// removeBinding prunes a binding from the record, as kz_amqp_history pruned
// queue.bind on queue.unbind. With pending set (the listener is not
// consuming, so the unbind cannot be applied now) an unbind is recorded for
// the next replay: a queue that outlives its channel keeps its bindings on
// the broker.
func removeBinding(cmds []command, b Binding, pending bool) ([]command, bool) {
	cmds, found := prune(cmds, cmdBind, b)
	if found && pending {
		cmds = insertBeforeConsume(cmds, command{kind: cmdUnbind, binding: b})
	}
	return cmds, found
}

// appliedUnbind drops the pending unbind of b once a replay applied it.
func appliedUnbind(cmds []command, b Binding) []command {
	cmds, _ = prune(cmds, cmdUnbind, b)
	return cmds
}

func prune(cmds []command, kind cmdKind, b Binding) ([]command, bool) {
	for i, c := range cmds {
		if c.kind == kind && c.binding.same(b) {
			return append(cmds[:i:i], cmds[i+1:]...), true
		}
	}
	return cmds, false
}

func insertBeforeConsume(cmds []command, c command) []command {
	n := len(cmds)
	if n > 0 && cmds[n-1].kind == cmdConsume {
		return append(cmds[:n-1:n-1], c, cmds[n-1])
	}
	return append(cmds, c)
}

func bindingsOf(cmds []command) []Binding {
	var out []Binding
	for _, c := range cmds {
		if c.kind == cmdBind {
			out = append(out, c.binding)
		}
	}
	return out
}

// replay runs the record on ch and returns the unbinds it applied. The
// queue's name was chosen once, when the listener was made (Kazoo names an
// anonymous queue once too): every replay declares the same queue. known
// are the exchanges ch's connection declared (may be nil).
func replay(ch *amqp.Channel, s Spec, cmds []command, known *actors.ExchangeSet) (queue string, deliveries <-chan amqp.Delivery, unbound []Binding, err error) {
	queue = s.Queue.Name
	var declared map[string]bool // exchanges the check declared: their binds need not again
	for _, c := range cmds {
		switch c.kind {
		case cmdDeclareQueue:
			if s.Queue.AutoDelete {
				var bad command
				if declared, bad, err = checkExchanges(ch, cmds, known); err != nil {
					return queue, nil, unbound, &replayError{cmd: bad, queue: queue, err: err, precheck: true}
				}
			}
			var q amqp.Queue
			q, err = ch.QueueDeclare(s.Queue.Name, s.Queue.Durable, s.Queue.AutoDelete, s.Queue.Exclusive, false, s.Queue.Args)
			if err == nil {
				queue = q.Name
			}
		case cmdQos:
			err = ch.Qos(s.Prefetch, 0, false)
		case cmdBind:
			b := c.binding
			b.Declare = b.Declare && !declared[b.Exchange]
			err = bind(ch, queue, b)
		case cmdUnbind:
			if err = ch.QueueUnbind(queue, c.binding.RoutingKey, c.binding.Exchange, c.binding.Args); err == nil {
				unbound = append(unbound, c.binding)
			}
		case cmdConsume:
			args := s.Consume.Args
			if s.Consume.Priority != 0 {
				args = amqp.Table{}
				for k, v := range s.Consume.Args {
					args[k] = v
				}
				args["x-priority"] = int32(s.Consume.Priority)
			}
			// Never the broker's no_ack, even for AckAuto: the listener acks on
			// receipt so that the prefetch bounds what the client buffers.
			deliveries, err = ch.Consume(queue, s.Consume.Tag, false, s.Consume.Exclusive, false, false, args)
		}
		if err != nil {
			return queue, nil, unbound, &replayError{cmd: c, queue: queue, err: err}
		}
	}
	return queue, deliveries, unbound, nil
}

// checkExchanges makes sure, before an auto-delete queue is declared, that
// every exchange its bindings name exists (declaring those a binding asks
// to declare): RabbitMQ deletes an auto-delete queue when its last consumer
// goes, so one declared and then never consumed, because a bind was
// refused, would stay on the broker for good. An exchange the channel's
// connection declared (known) is not asked about again. It returns the
// exchanges it declared, or the bind command whose exchange the broker
// refused (the channel is closed then).
func checkExchanges(ch *amqp.Channel, cmds []command, known *actors.ExchangeSet) (declared map[string]bool, bad command, err error) {
	seen := map[string]bool{}
	for _, c := range cmds {
		b := c.binding
		if c.kind != cmdBind || seen[b.Exchange] {
			continue
		}
		seen[b.Exchange] = true
		switch {
		case b.Declare:
			if err = ch.ExchangeDeclare(b.Exchange, b.Kind, b.Durable, b.AutoDelete, b.Internal, false, nil); err == nil {
				if declared == nil {
					declared = map[string]bool{}
				}
				declared[b.Exchange] = true
			}
		case known.Has(b.Exchange):
		default:
			// Passive: the kind and flags are not compared, only the name.
			err = ch.ExchangeDeclarePassive(b.Exchange, b.Kind, false, false, false, false, nil)
		}
		if err != nil {
			return nil, c, err
		}
	}
	return declared, command{}, nil
}

// bind binds queue with b on ch, declaring b's exchange first when b asks.
func bind(ch *amqp.Channel, queue string, b Binding) error {
	if b.Declare {
		if err := ch.ExchangeDeclare(b.Exchange, b.Kind, b.Durable, b.AutoDelete, b.Internal, false, nil); err != nil {
			return err
		}
	}
	return ch.QueueBind(queue, b.RoutingKey, b.Exchange, false, b.Args)
}

type replayError struct {
	cmd      command
	queue    string
	err      error
	precheck bool // checkExchanges refused cmd's exchange, before the queue was declared
}

func (e *replayError) Error() string {
	var what string
	switch e.cmd.kind {
	case cmdDeclareQueue:
		what = "declare queue " + e.queue
	case cmdQos:
		what = "set qos"
	case cmdBind:
		what = "bind " + e.queue + " to " + e.cmd.binding.String()
		if e.precheck {
			what = "check exchange " + e.cmd.binding.Exchange + " before declaring auto-delete queue " + e.queue
			if e.cmd.binding.Declare {
				what = "declare exchange " + e.cmd.binding.Exchange + " before declaring auto-delete queue " + e.queue
			}
		} else if e.cmd.binding.Declare {
			what = "declare exchange " + e.cmd.binding.Exchange + " and " + what
		}
	case cmdUnbind:
		what = "unbind " + e.queue + " from " + e.cmd.binding.String()
	case cmdConsume:
		what = "consume " + e.queue
	}
	return what + ": " + e.err.Error()
}

func (e *replayError) Unwrap() error { return e.err }

// notFound reports a 404 NOT_FOUND from the broker.
func notFound(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.NotFound
}
