package listener

import (
	amqp "github.com/rabbitmq/amqp091-go"
)

// A listener records every topology command it issues, in order, and
// replays the record on each new channel: Kazoo's kz_amqp_history, kept in
// the listener (as gen_listener keeps its bindings since 2019).

type cmdKind int

const (
	cmdDeclareExchange cmdKind = iota
	cmdDeclareQueue
	cmdQos
	cmdBind
	cmdConsume
)

type command struct {
	kind    cmdKind
	binding Binding // for cmdDeclareExchange and cmdBind
}

// initialCommands is the record a spec starts with.
func initialCommands(s Spec) []command {
	var cmds []command
	for _, b := range s.Bindings {
		if b.Declare {
			cmds = append(cmds, command{kind: cmdDeclareExchange, binding: b})
		}
	}
	cmds = append(cmds, command{kind: cmdDeclareQueue})
	if s.Prefetch > 0 && s.Ack != AckAuto {
		cmds = append(cmds, command{kind: cmdQos})
	}
	for _, b := range s.Bindings {
		cmds = append(cmds, command{kind: cmdBind, binding: b})
	}
	return append(cmds, command{kind: cmdConsume})
}

// addBinding records a binding added at run time.
func addBinding(cmds []command, b Binding) []command {
	for _, c := range cmds {
		if c.kind == cmdBind && c.binding.same(b) {
			return cmds
		}
	}
	if b.Declare {
		cmds = append(cmds, command{kind: cmdDeclareExchange, binding: b})
	}
	return append(cmds, command{kind: cmdBind, binding: b})
}

// removeBinding prunes a binding from the record, as kz_amqp_history pruned
// queue.bind on queue.unbind.
func removeBinding(cmds []command, b Binding) ([]command, bool) {
	for i, c := range cmds {
		if c.kind == cmdBind && c.binding.same(b) {
			return append(cmds[:i:i], cmds[i+1:]...), true
		}
	}
	return cmds, false
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

// replay runs the record on ch. A server-named queue gets its name from the
// broker; the bindings and the consumer that follow use it.
func replay(ch *amqp.Channel, s Spec, cmds []command) (queue string, deliveries <-chan amqp.Delivery, err error) {
	queue = s.Queue.Name
	for _, c := range cmds {
		switch c.kind {
		case cmdDeclareExchange:
			b := c.binding
			err = ch.ExchangeDeclare(b.Exchange, b.Kind, b.Durable, b.AutoDelete, b.Internal, false, nil)
		case cmdDeclareQueue:
			var q amqp.Queue
			q, err = ch.QueueDeclare(s.Queue.Name, s.Queue.Durable, s.Queue.AutoDelete, s.Queue.Exclusive, false, s.Queue.Args)
			queue = q.Name
		case cmdQos:
			err = ch.Qos(s.Prefetch, 0, false)
		case cmdBind:
			err = ch.QueueBind(queue, c.binding.RoutingKey, c.binding.Exchange, false, c.binding.Args)
		case cmdConsume:
			args := s.Consume.Args
			if s.Consume.Priority != 0 {
				args = amqp.Table{}
				for k, v := range s.Consume.Args {
					args[k] = v
				}
				args["x-priority"] = int32(s.Consume.Priority)
			}
			deliveries, err = ch.Consume(queue, s.Consume.Tag, s.Ack == AckAuto, s.Consume.Exclusive, false, false, args)
		}
		if err != nil {
			return queue, nil, &replayError{cmd: c, queue: queue, err: err}
		}
	}
	return queue, deliveries, nil
}

type replayError struct {
	cmd   command
	queue string
	err   error
}

func (e *replayError) Error() string {
	var what string
	switch e.cmd.kind {
	case cmdDeclareExchange:
		what = "declare exchange " + e.cmd.binding.Exchange
	case cmdDeclareQueue:
		what = "declare queue " + e.queue
	case cmdQos:
		what = "set qos"
	case cmdBind:
		what = "bind " + e.queue + " to " + e.cmd.binding.String()
	case cmdConsume:
		what = "consume " + e.queue
	}
	return what + ": " + e.err.Error()
}

func (e *replayError) Unwrap() error { return e.err }
