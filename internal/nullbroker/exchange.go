package nullbroker

import (
	"slices"
	"strings"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// Exchange types.
const (
	kindDirect  = "direct"
	kindFanout  = "fanout"
	kindTopic   = "topic"
	kindHeaders = "headers"
)

// exchange is a declared exchange. Its bindings are those it is the source
// of.
type exchange struct {
	name       string
	kind       string
	durable    bool
	autoDelete bool
	internal   bool
	bindings   []*binding
}

// binding routes from an exchange to a queue or, for exchange-to-exchange
// bindings, to another exchange.
type binding struct {
	dest       string
	toExchange bool
	key        string
	words      []string // key split for topic matching
	args       codec.Table
}

// same reports whether b and o are the same binding (for one source).
func (b *binding) same(o *binding) bool {
	return b.dest == o.dest && b.toExchange == o.toExchange && b.key == o.key && codec.Equal(b.args, o.args)
}

// declareBuiltinExchanges creates the exchanges every RabbitMQ vhost has.
func (s *Server) declareBuiltinExchanges() {
	for _, x := range []exchange{
		{name: "", kind: kindDirect},
		{name: "amq.direct", kind: kindDirect},
		{name: "amq.fanout", kind: kindFanout},
		{name: "amq.topic", kind: kindTopic},
		{name: "amq.headers", kind: kindHeaders},
		{name: "amq.match", kind: kindHeaders},
		{name: "amq.rabbitmq.trace", kind: kindTopic, internal: true},
	} {
		x.durable = true
		s.exchanges[x.name] = &x
	}
}

// exchangeDeclare handles exchange.declare.
func (ch *channel) exchangeDeclare(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	name, kind, bits := d.ShortStr(), d.ShortStr(), d.Bits()
	_ = d.Table() // arguments (alternate-exchange etc.) are ignored
	if err := argsErr(d); err != nil {
		return err
	}
	passive, durable, autoDelete, internal, nowait :=
		codec.Bit(bits, 0), codec.Bit(bits, 1), codec.Bit(bits, 2), codec.Bit(bits, 3), codec.Bit(bits, 4)
	s, vhost := ch.srv, ch.srv.cfg.VHost
	x := s.exchanges[name]
	switch {
	case passive:
		if x == nil {
			return errNoExchange(name, vhost)
		}
	case name == "":
		return errDefaultExchange()
	case strings.HasPrefix(name, "amq."):
		return newError(AccessRefused, "exchange name '%s' contains reserved prefix 'amq.*'", name)
	case kind != kindDirect && kind != kindFanout && kind != kindTopic && kind != kindHeaders:
		return newError(CommandInvalid, "unknown exchange type '%s'", kind)
	case x == nil:
		s.exchanges[name] = &exchange{name: name, kind: kind, durable: durable, autoDelete: autoDelete, internal: internal}
	case x.kind != kind:
		return errInequivalent("type", "exchange", name, vhost, kind, x.kind)
	case x.durable != durable:
		return errInequivalent("durable", "exchange", name, vhost, durable, x.durable)
	case x.autoDelete != autoDelete:
		return errInequivalent("auto_delete", "exchange", name, vhost, autoDelete, x.autoDelete)
	case x.internal != internal:
		return errInequivalent("internal", "exchange", name, vhost, internal, x.internal)
	}
	if !nowait {
		ch.conn.sendMethod(ch.id, exchangeDeclareOk, nil)
	}
	return nil
}

// exchangeDelete handles exchange.delete. Deleting a missing exchange
// succeeds, as in RabbitMQ 3.x.
func (ch *channel) exchangeDelete(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	name, bits := d.ShortStr(), d.Bits()
	if err := argsErr(d); err != nil {
		return err
	}
	ifUnused, nowait := codec.Bit(bits, 0), codec.Bit(bits, 1)
	s, vhost := ch.srv, ch.srv.cfg.VHost
	if name == "" {
		return errDefaultExchange()
	}
	if strings.HasPrefix(name, "amq.") {
		return newError(AccessRefused, "deletion of system exchange '%s' in vhost '%s' is not allowed", name, vhost)
	}
	if x := s.exchanges[name]; x != nil {
		if ifUnused && len(x.bindings) > 0 {
			return newError(PreconditionFailed, "exchange '%s' in vhost '%s' in use", name, vhost)
		}
		s.deleteExchange(x)
	}
	if !nowait {
		ch.conn.sendMethod(ch.id, exchangeDeleteOk, nil)
	}
	return nil
}

// exchangeBind handles exchange.bind (bind true) and exchange.unbind.
func (ch *channel) exchangeBind(d *codec.Decoder, bind bool) *amqpError {
	_ = d.Short() // ticket
	dest, src, key, nowait := d.ShortStr(), d.ShortStr(), d.ShortStr(), codec.Bit(d.Bits(), 0)
	args := d.Table()
	if err := argsErr(d); err != nil {
		return err
	}
	s, vhost := ch.srv, ch.srv.cfg.VHost
	if src == "" || dest == "" {
		return errDefaultExchange()
	}
	sx, dx := s.exchanges[src], s.exchanges[dest]
	if sx == nil {
		return errNoExchange(src, vhost)
	}
	if dx == nil {
		return errNoExchange(dest, vhost)
	}
	b := &binding{dest: dest, toExchange: true, key: key, args: args}
	reply := exchangeBindOk
	if bind {
		s.bind(sx, b)
	} else {
		s.unbind(sx, b)
		reply = exchangeUnbindOk
	}
	if !nowait {
		ch.conn.sendMethod(ch.id, reply, nil)
	}
	return nil
}

// bind adds a binding to source x unless it exists already.
func (s *Server) bind(x *exchange, b *binding) {
	for _, o := range x.bindings {
		if o.same(b) {
			return
		}
	}
	if x.kind == kindTopic {
		b.words = splitTopic(b.key)
	}
	x.bindings = append(x.bindings, b)
}

// unbind removes a binding from source x; removing a binding that does not
// exist succeeds. An auto-delete exchange goes with its last binding.
func (s *Server) unbind(x *exchange, b *binding) {
	n := len(x.bindings)
	x.bindings = slices.DeleteFunc(x.bindings, b.same)
	if len(x.bindings) < n && len(x.bindings) == 0 && x.autoDelete {
		s.deleteExchange(x)
	}
}

// unbindDestination removes every binding to the named queue (or, with
// toExchange, exchange), deleting auto-delete exchanges left unbound.
func (s *Server) unbindDestination(name string, toExchange bool) {
	var emptied []*exchange
	for _, x := range s.exchanges {
		n := len(x.bindings)
		x.bindings = slices.DeleteFunc(x.bindings, func(b *binding) bool {
			return b.dest == name && b.toExchange == toExchange
		})
		if len(x.bindings) < n && len(x.bindings) == 0 && x.autoDelete {
			emptied = append(emptied, x)
		}
	}
	for _, x := range emptied {
		s.deleteExchange(x)
	}
}

// deleteExchange removes x and every binding from or to it.
func (s *Server) deleteExchange(x *exchange) {
	if s.exchanges[x.name] != x {
		return // already gone
	}
	delete(s.exchanges, x.name)
	x.bindings = nil
	s.unbindDestination(x.name, true)
}
