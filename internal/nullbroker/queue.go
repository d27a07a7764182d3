package nullbroker

import (
	"slices"
	"strings"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// queue is a declared queue. Messages are kept in memory only; "durable"
// is remembered for declaration equivalence but means nothing else.
type queue struct {
	name       string
	durable    bool
	exclusive  bool
	autoDelete bool
	args       codec.Table
	owner      *conn // the declaring connection of an exclusive queue

	ready     deque       // messages waiting for a consumer
	consumers []*consumer // in subscription order
	rr        int         // next consumer to try, for round robin
	unacked   int         // delivered, not yet settled
	deleted   bool
}

// entry is a message on a queue.
type entry struct {
	m           *message
	redelivered bool
}

// checkedArgs are the queue arguments RabbitMQ compares when a queue is
// redeclared; a difference is a 406 PRECONDITION_FAILED.
var checkedArgs = []string{
	"x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-length", "x-max-length-bytes", "x-max-priority", "x-overflow", "x-queue-mode",
	"x-queue-type", "x-single-active-consumer", "x-delivery-limit",
}

// lookupQueue finds a queue the channel may use: "" means the queue the
// channel declared last; another connection's exclusive queue is locked.
func (ch *channel) lookupQueue(name string) (*queue, *amqpError) {
	vhost := ch.srv.cfg.VHost
	if name == "" {
		if ch.lastQueue == "" {
			return nil, newError(NotFound, "no previously declared queue")
		}
		name = ch.lastQueue
	}
	q := ch.srv.queues[name]
	if q == nil {
		return nil, errNoQueue(name, vhost)
	}
	if q.exclusive && q.owner != ch.conn {
		return nil, errLocked(name, vhost)
	}
	return q, nil
}

// queueDeclare handles queue.declare.
func (ch *channel) queueDeclare(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	name, bits, args := d.ShortStr(), d.Bits(), d.Table()
	if err := argsErr(d); err != nil {
		return err
	}
	passive, durable, exclusive, autoDelete, nowait :=
		codec.Bit(bits, 0), codec.Bit(bits, 1), codec.Bit(bits, 2), codec.Bit(bits, 3), codec.Bit(bits, 4)
	s, vhost := ch.srv, ch.srv.cfg.VHost

	var q *queue
	switch {
	case passive && name == replyToQueue:
		if !nowait {
			ch.conn.sendMethod(ch.id, queueDeclareOk, func(e *codec.Encoder) {
				e.ShortStr(name)
				e.Long(0)
				e.Long(0)
			})
		}
		return nil
	case passive:
		var err *amqpError
		if q, err = ch.lookupQueue(name); err != nil {
			return err
		}
	case strings.HasPrefix(name, "amq."):
		return newError(AccessRefused, "queue name '%s' contains reserved prefix 'amq.*'", name)
	default:
		if name == "" {
			name = "amq.gen-" + randomID()
		}
		q = s.queues[name]
		if q == nil {
			q = &queue{name: name, durable: durable, exclusive: exclusive, autoDelete: autoDelete, args: args}
			if exclusive {
				q.owner = ch.conn
				ch.conn.exclusive[q] = struct{}{}
			}
			s.queues[name] = q
			break
		}
		if q.exclusive != exclusive || (q.exclusive && q.owner != ch.conn) {
			return errLocked(name, vhost)
		}
		if q.durable != durable {
			return errInequivalent("durable", "queue", name, vhost, durable, q.durable)
		}
		if q.autoDelete != autoDelete {
			return errInequivalent("auto_delete", "queue", name, vhost, autoDelete, q.autoDelete)
		}
		for _, k := range checkedArgs {
			got, hasGot := args[k]
			cur, hasCur := q.args[k]
			if k == "x-queue-type" && !hasGot {
				continue // an absent type matches any type, as in RabbitMQ 3.8+
			}
			if hasGot != hasCur || (hasGot && !codec.Equal(got, cur)) {
				return errInequivalent(k, "queue", name, vhost, argString(got, hasGot), argString(cur, hasCur))
			}
		}
	}
	ch.lastQueue = q.name
	if !nowait {
		msgs, consumers := q.ready.len(), len(q.consumers)
		ch.conn.sendMethod(ch.id, queueDeclareOk, func(e *codec.Encoder) {
			e.ShortStr(q.name)
			e.Long(uint32(msgs))
			e.Long(uint32(consumers))
		})
	}
	return nil
}

// argString formats a queue argument for an inequivalence error.
func argString(v any, present bool) any {
	if !present {
		return "none"
	}
	return v
}

// queueBind handles queue.bind (bind true) and queue.unbind.
func (ch *channel) queueBind(d *codec.Decoder, bind bool) *amqpError {
	_ = d.Short() // ticket
	qname, xname, key := d.ShortStr(), d.ShortStr(), d.ShortStr()
	nowait := false
	if bind { // queue.unbind has no no-wait bit
		nowait = codec.Bit(d.Bits(), 0)
	}
	args := d.Table()
	if err := argsErr(d); err != nil {
		return err
	}
	s := ch.srv
	if xname == "" {
		return errDefaultExchange()
	}
	x := s.exchanges[xname]
	if x == nil {
		return errNoExchange(xname, s.cfg.VHost)
	}
	q, err := ch.lookupQueue(qname)
	if err != nil {
		return err
	}
	b := &binding{dest: q.name, key: key, args: args}
	if bind {
		s.bind(x, b)
		if !nowait {
			ch.conn.sendMethod(ch.id, queueBindOk, nil)
		}
		return nil
	}
	s.unbind(x, b)
	ch.conn.sendMethod(ch.id, queueUnbindOk, nil)
	return nil
}

// queuePurge handles queue.purge: ready messages are dropped, unacked ones
// stay.
func (ch *channel) queuePurge(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	name, nowait := d.ShortStr(), codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	q, err := ch.lookupQueue(name)
	if err != nil {
		return err
	}
	n := q.ready.len()
	q.ready.clear()
	if !nowait {
		ch.conn.sendMethod(ch.id, queuePurgeOk, func(e *codec.Encoder) { e.Long(uint32(n)) })
	}
	return nil
}

// queueDelete handles queue.delete. Deleting a missing queue succeeds, as
// in RabbitMQ 3.x.
func (ch *channel) queueDelete(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	name, bits := d.ShortStr(), d.Bits()
	if err := argsErr(d); err != nil {
		return err
	}
	ifUnused, ifEmpty, nowait := codec.Bit(bits, 0), codec.Bit(bits, 1), codec.Bit(bits, 2)
	vhost := ch.srv.cfg.VHost
	n := 0
	q, err := ch.lookupQueue(name)
	switch {
	case err != nil && err.code != NotFound:
		return err
	case err != nil: // not found: nothing to do
	case ifUnused && len(q.consumers) > 0:
		return newError(PreconditionFailed, "queue '%s' in vhost '%s' in use", q.name, vhost)
	case ifEmpty && q.ready.len() > 0:
		return newError(PreconditionFailed, "queue '%s' in vhost '%s' is not empty", q.name, vhost)
	default:
		n = q.ready.len()
		ch.srv.deleteQueue(q)
	}
	if !nowait {
		ch.conn.sendMethod(ch.id, queueDeleteOk, func(e *codec.Encoder) { e.Long(uint32(n)) })
	}
	return nil
}

// deleteQueue removes a queue: its consumers are cancelled (with
// basic.cancel to clients that understand it), its bindings removed and its
// ready messages dropped. Unacked messages can still be acked, but are
// dropped if requeued.
func (s *Server) deleteQueue(q *queue) {
	if q.deleted {
		return
	}
	q.deleted = true
	delete(s.queues, q.name)
	for _, cs := range slices.Clone(q.consumers) {
		s.cancelConsumer(cs)
	}
	s.unbindDestination(q.name, false)
	if q.owner != nil {
		delete(q.owner.exclusive, q)
	}
	q.ready.clear()
}

// deque is a FIFO of entries that can also push at the front (for
// requeues). It is a ring buffer that grows by doubling.
type deque struct {
	buf   []entry
	head  int
	count int
}

func (d *deque) len() int { return d.count }

func (d *deque) grow() {
	if d.count < len(d.buf) {
		return
	}
	n := max(16, 2*len(d.buf))
	buf := make([]entry, n)
	for i := range d.count {
		buf[i] = d.buf[(d.head+i)%len(d.buf)]
	}
	d.buf, d.head = buf, 0
}

func (d *deque) pushBack(e entry) {
	d.grow()
	d.buf[(d.head+d.count)%len(d.buf)] = e
	d.count++
}

func (d *deque) pushFront(e entry) {
	d.grow()
	d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
	d.buf[d.head] = e
	d.count++
}

func (d *deque) popFront() (entry, bool) {
	if d.count == 0 {
		return entry{}, false
	}
	e := d.buf[d.head]
	d.buf[d.head] = entry{}
	d.head = (d.head + 1) % len(d.buf)
	d.count--
	return e, true
}

func (d *deque) clear() { *d = deque{} }
