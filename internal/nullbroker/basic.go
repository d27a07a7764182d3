package nullbroker

import (
	"crypto/rand"
	"encoding/base64"
	"slices"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// message is a published message. It is immutable once routed and shared
// by every queue it reached.
type message struct {
	exchange string
	key      string
	props    []byte // encoded property list, flags first
	body     []byte
}

// consumer is a basic.consume subscription: on a queue, or the channel's
// direct reply-to pseudo-consumer (q nil).
type consumer struct {
	tag       string
	ch        *channel
	q         *queue
	noAck     bool
	exclusive bool
	prefetch  uint16 // 0 = unlimited
	unacked   int
	token     string // direct reply-to token
}

// ready reports whether the consumer may be given a message now.
func (cs *consumer) ready() bool {
	ch := cs.ch
	if ch.closing || ch.released || !ch.active || ch.conn.closing {
		return false
	}
	if cs.noAck {
		return true
	}
	if cs.prefetch > 0 && cs.unacked >= int(cs.prefetch) {
		return false
	}
	return ch.prefetchGlobal == 0 || len(ch.unacked) < int(ch.prefetchGlobal)
}

// randomID returns 22 random URL-safe characters, the shape of RabbitMQ's
// generated names.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// publishMethod handles basic.publish; the message is routed once its
// content has arrived.
func (ch *channel) publishMethod(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	exchange, key, bits := d.ShortStr(), d.ShortStr(), d.Bits()
	if err := argsErr(d); err != nil {
		return err
	}
	if codec.Bit(bits, 1) {
		return newError(NotImplemented, "immediate=true")
	}
	ch.pub = pendingPublish{state: pubWantHeader, exchange: exchange, key: key, mandatory: codec.Bit(bits, 0)}
	return nil
}

// publish routes a complete message: to the queues its exchange routes it
// to, or to a direct reply-to consumer. An unroutable mandatory message is
// returned with 312 NO_ROUTE; then, in confirm mode, the publish is acked.
func (ch *channel) publish(p *pendingPublish) *amqpError {
	s := ch.srv
	s.stats.Published++
	var seq uint64
	if ch.confirm {
		ch.publishSeq++
		seq = ch.publishSeq
	}
	x := s.exchanges[p.exchange]
	if x == nil {
		return errNoExchange(p.exchange, s.cfg.VHost)
	}
	if x.internal {
		return newError(AccessRefused, "cannot publish to internal exchange '%s' in vhost '%s'", x.name, s.cfg.VHost)
	}
	props := p.props
	if flags := codec.PropertyFlags(props); flags&(codec.FlagUserID|codec.FlagReplyTo) != 0 {
		pr, err := codec.DecodeProperties(props)
		if err != nil {
			return newError(FrameError, "malformed content header: %v", err)
		}
		if flags&codec.FlagUserID != 0 && pr.UserID != ch.conn.user {
			return newError(PreconditionFailed, "user_id property set to '%s' but authenticated user was '%s'", pr.UserID, ch.conn.user)
		}
		if pr.ReplyTo == replyToQueue {
			if ch.reply == nil {
				return newError(PreconditionFailed, "fast reply consumer does not exist")
			}
			pr.ReplyTo = replyToPrefix + ch.reply.token
			var e codec.Encoder
			e.Properties(&pr)
			props = e.Buf
		}
	}
	m := &message{exchange: p.exchange, key: p.key, props: props, body: p.body}

	routed := false
	if cs := s.replyConsumer(x, p.key); cs != nil {
		s.deliver(cs, nil, m, false)
		routed = true
	} else {
		ch.routed = s.route(x, m, ch.routed[:0])
		for _, q := range ch.routed {
			q.ready.pushBack(entry{m: m})
			s.dispatch(q)
		}
		routed = len(ch.routed) > 0
		clear(ch.routed)
	}

	c := ch.conn
	if !routed && p.mandatory {
		s.stats.Returned++
		c.send(func(b []byte) []byte {
			b = appendMethod(b, ch.id, basicReturn, func(e *codec.Encoder) {
				e.Short(NoRoute)
				e.ShortStr("NO_ROUTE")
				e.ShortStr(m.exchange)
				e.ShortStr(m.key)
			})
			return appendContent(b, ch.id, m.props, m.body, c.frameMax)
		})
	}
	if ch.confirm && s.loseConfirm() {
		c.closeWith(&amqpError{code: ConnectionForced, text: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"})
		return nil
	}
	if ch.confirm {
		s.stats.Confirms++
		c.sendMethod(ch.id, basicAck, func(e *codec.Encoder) {
			e.LongLong(seq)
			e.Bits(false)
		})
	}
	return nil
}

// consume handles basic.consume.
func (ch *channel) consume(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	qname, tag, bits := d.ShortStr(), d.ShortStr(), d.Bits()
	_ = d.Table() // arguments (x-priority etc.) are ignored
	if err := argsErr(d); err != nil {
		return err
	}
	noAck, exclusive, nowait := codec.Bit(bits, 1), codec.Bit(bits, 2), codec.Bit(bits, 3)
	if tag == "" {
		tag = "amq.ctag-" + randomID()
	}
	if _, dup := ch.consumers[tag]; dup {
		return newError(NotAllowed, "attempt to reuse consumer tag '%s'", tag)
	}
	if qname == replyToQueue {
		return ch.consumeReplyTo(tag, noAck, nowait)
	}
	q, err := ch.lookupQueue(qname)
	if err != nil {
		return err
	}
	for _, other := range q.consumers {
		if exclusive || other.exclusive {
			return newError(AccessRefused, "queue '%s' in vhost '%s' in exclusive use", q.name, ch.srv.cfg.VHost)
		}
	}
	cs := &consumer{tag: tag, ch: ch, q: q, noAck: noAck, exclusive: exclusive, prefetch: ch.prefetch}
	ch.consumers[tag] = cs
	q.consumers = append(q.consumers, cs)
	if !nowait {
		ch.conn.sendMethod(ch.id, basicConsumeOk, func(e *codec.Encoder) { e.ShortStr(tag) })
	}
	ch.srv.dispatch(q)
	return nil
}

// cancel handles basic.cancel. An unknown tag is not an error.
func (ch *channel) cancel(d *codec.Decoder) *amqpError {
	tag, nowait := d.ShortStr(), codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	if cs := ch.consumers[tag]; cs != nil {
		ch.srv.removeConsumer(cs)
	}
	if !nowait {
		ch.conn.sendMethod(ch.id, basicCancelOk, func(e *codec.Encoder) { e.ShortStr(tag) })
	}
	return nil
}

// get handles basic.get.
func (ch *channel) get(d *codec.Decoder) *amqpError {
	_ = d.Short() // ticket
	qname, noAck := d.ShortStr(), codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	q, err := ch.lookupQueue(qname)
	if err != nil {
		return err
	}
	c := ch.conn
	e, ok := q.ready.popFront()
	if !ok {
		c.sendMethod(ch.id, basicGetEmpty, func(e *codec.Encoder) { e.ShortStr("") })
		return nil
	}
	ch.nextTag++
	tag, m, left := ch.nextTag, e.m, q.ready.len()
	if !noAck {
		ch.track(&unackedMsg{tag: tag, q: q, m: m})
	}
	ch.srv.stats.Delivered++
	c.send(func(b []byte) []byte {
		b = appendMethod(b, ch.id, basicGetOk, func(enc *codec.Encoder) {
			enc.LongLong(tag)
			enc.Bits(e.redelivered)
			enc.ShortStr(m.exchange)
			enc.ShortStr(m.key)
			enc.Long(uint32(left))
		})
		return appendContent(b, ch.id, m.props, m.body, c.frameMax)
	})
	return nil
}

// dispatch hands a queue's ready messages to its consumers, round robin,
// for as long as some consumer has room. Callers hold the server mutex.
func (s *Server) dispatch(q *queue) {
	for q.ready.len() > 0 && len(q.consumers) > 0 {
		var cs *consumer
		n := len(q.consumers)
		for i := range n {
			idx := (q.rr + i) % n
			if q.consumers[idx].ready() {
				cs, q.rr = q.consumers[idx], (idx+1)%n
				break
			}
		}
		if cs == nil {
			return
		}
		e, _ := q.ready.popFront()
		s.deliver(cs, q, e.m, e.redelivered)
	}
}

// deliver sends basic.deliver and the content to a consumer, tracking the
// delivery unless the consumer does not acknowledge.
func (s *Server) deliver(cs *consumer, q *queue, m *message, redelivered bool) {
	ch, c := cs.ch, cs.ch.conn
	ch.nextTag++
	tag := ch.nextTag
	if !cs.noAck {
		ch.track(&unackedMsg{tag: tag, q: q, m: m, cs: cs})
	}
	s.stats.Delivered++
	c.send(func(b []byte) []byte {
		b = appendMethod(b, ch.id, basicDeliver, func(e *codec.Encoder) {
			e.ShortStr(cs.tag)
			e.LongLong(tag)
			e.Bits(redelivered)
			e.ShortStr(m.exchange)
			e.ShortStr(m.key)
		})
		return appendContent(b, ch.id, m.props, m.body, c.frameMax)
	})
}

// requeue puts settled deliveries back at the head of their queues, in
// their original order, marked redelivered, and dispatches them again.
// Messages of deleted queues are dropped.
func (s *Server) requeue(us []*unackedMsg) {
	var queues []*queue
	for i := len(us) - 1; i >= 0; i-- {
		q := us[i].q
		if q.deleted {
			continue
		}
		q.ready.pushFront(entry{m: us[i].m, redelivered: true})
		if !slices.Contains(queues, q) {
			queues = append(queues, q)
		}
	}
	for _, q := range queues {
		s.dispatch(q)
	}
}

// removeConsumer forgets a consumer. A queue declared auto-delete is
// deleted when its last consumer goes, as in RabbitMQ.
func (s *Server) removeConsumer(cs *consumer) {
	ch := cs.ch
	delete(ch.consumers, cs.tag)
	if cs.q == nil { // direct reply-to
		delete(s.replyTo, cs.token)
		if ch.reply == cs {
			ch.reply = nil
		}
		return
	}
	q := cs.q
	if i := slices.Index(q.consumers, cs); i >= 0 {
		q.consumers = slices.Delete(q.consumers, i, i+1)
		if q.rr > i {
			q.rr--
		}
		if q.rr >= len(q.consumers) {
			q.rr = 0
		}
	}
	if q.autoDelete && len(q.consumers) == 0 && !q.deleted {
		s.deleteQueue(q)
	}
}

// cancelConsumer cancels a consumer from the broker's side, telling the
// client with basic.cancel when it advertised consumer_cancel_notify.
func (s *Server) cancelConsumer(cs *consumer) {
	if c := cs.ch.conn; c.capCancel && !cs.ch.closing && !cs.ch.released {
		c.sendMethod(cs.ch.id, basicCancel, func(e *codec.Encoder) {
			e.ShortStr(cs.tag)
			e.Bits(true) // no-wait
		})
	}
	s.removeConsumer(cs)
}
