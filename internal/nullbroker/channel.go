package nullbroker

import (
	"slices"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// maxBodySize is the largest message accepted at all, RabbitMQ's hard limit
// of 512 MiB, so a lying content header cannot make the broker allocate more.
const maxBodySize = 512 << 20

// channel is an open AMQP channel. All its fields are guarded by the
// server mutex.
type channel struct {
	id   uint16
	conn *conn
	srv  *Server

	closing  bool // the broker sent channel.close and waits for close-ok
	released bool // consumers cancelled, unacked requeued
	active   bool // channel.flow: deliveries pause while false

	confirm    bool   // confirm.select seen
	publishSeq uint64 // confirm sequence number of the last publish
	nextTag    uint64 // last delivery tag used

	prefetch       uint16 // basic.qos global=false: limit for new consumers
	prefetchGlobal uint16 // basic.qos global=true: limit for the channel

	consumers map[string]*consumer
	unacked   map[uint64]*unackedMsg
	order     []uint64 // tags of unacked in ascending order; may hold settled ones

	pub       pendingPublish // the publish whose content is being read
	lastQueue string         // the queue last declared, for "" queue names
	reply     *consumer      // the direct reply-to consumer, if any
	routed    []*queue       // scratch for routing
}

// pendingPublish is a basic.publish waiting for its content frames.
type pendingPublish struct {
	state     int // pubIdle, pubWantHeader, pubWantBody
	exchange  string
	key       string
	mandatory bool
	size      uint64
	props     []byte
	body      []byte
}

const (
	pubIdle = iota
	pubWantHeader
	pubWantBody
)

// unackedMsg is a delivery waiting for ack, nack or reject.
type unackedMsg struct {
	tag uint64
	q   *queue
	m   *message
	cs  *consumer // nil for basic.get
}

func newChannel(c *conn, id uint16) *channel {
	return &channel{
		id:        id,
		conn:      c,
		srv:       c.srv,
		active:    true,
		consumers: make(map[string]*consumer),
		unacked:   make(map[uint64]*unackedMsg),
	}
}

// handleMethod handles a method frame for an open channel.
func (ch *channel) handleMethod(m methodID, d *codec.Decoder) *amqpError {
	if ch.pub.state != pubIdle {
		return newError(UnexpectedFrame, "expected content header for class 60, got non content header frame instead")
	}
	var err *amqpError
	switch m {
	case channelClose:
		ch.conn.removeChannel(ch)
		ch.conn.sendMethod(ch.id, channelCloseOk, nil)
		return nil
	case channelCloseOk, basicCancelOk:
		return nil // not waiting for one; ignore
	case channelFlow:
		err = ch.flow(d)
	case exchangeDeclare:
		err = ch.exchangeDeclare(d)
	case exchangeDelete:
		err = ch.exchangeDelete(d)
	case exchangeBind:
		err = ch.exchangeBind(d, true)
	case exchangeUnbind:
		err = ch.exchangeBind(d, false)
	case queueDeclare:
		err = ch.queueDeclare(d)
	case queueBind:
		err = ch.queueBind(d, true)
	case queueUnbind:
		err = ch.queueBind(d, false)
	case queuePurge:
		err = ch.queuePurge(d)
	case queueDelete:
		err = ch.queueDelete(d)
	case basicQos:
		err = ch.qos(d)
	case basicConsume:
		err = ch.consume(d)
	case basicCancel:
		err = ch.cancel(d)
	case basicPublish:
		err = ch.publishMethod(d)
	case basicGet:
		err = ch.get(d)
	case basicAck:
		err = ch.ack(d)
	case basicNack, basicReject:
		err = ch.nack(d, m == basicNack)
	case basicRecover, basicRecoverAsync:
		err = ch.recover(d, m == basicRecover)
	case confirmSelect:
		err = ch.confirmSelect(d)
	default:
		if m.class == classTx {
			return newError(NotImplemented, "transactions (tx.*) are not supported by nullbroker")
		}
		return newError(CommandInvalid, "unknown or unexpected method %v", m)
	}
	return err
}

// argsErr turns a decoding error into 502 SYNTAX_ERROR.
func argsErr(d *codec.Decoder) *amqpError {
	if err := d.Err(); err != nil {
		return errSyntax(err)
	}
	return nil
}

// fail closes the channel with a channel exception. Its resources are
// released at once; the channel id stays taken until the client's close-ok.
func (ch *channel) fail(e *amqpError) {
	ch.release()
	ch.closing = true
	ch.conn.sendMethod(ch.id, channelClose, func(enc *codec.Encoder) {
		enc.Short(uint16(e.code))
		enc.ShortStr(e.text)
		enc.Short(e.classID)
		enc.Short(e.methodID)
	})
}

// release cancels the channel's consumers and puts its unacknowledged
// messages back on their queues, marked redelivered. It is idempotent.
func (ch *channel) release() {
	if ch.released {
		return
	}
	ch.released = true
	ch.pub = pendingPublish{}
	for _, cs := range ch.consumers {
		ch.srv.removeConsumer(cs)
	}
	us, _ := ch.settle(0, true)
	ch.srv.requeue(us)
}

// flow handles channel.flow: the client pauses or resumes deliveries.
func (ch *channel) flow(d *codec.Decoder) *amqpError {
	active := codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	ch.active = active
	ch.conn.sendMethod(ch.id, channelFlowOk, func(e *codec.Encoder) { e.Bits(active) })
	if active {
		ch.kick()
	}
	return nil
}

// qos handles basic.qos. prefetch-size is not supported (RabbitMQ neither).
func (ch *channel) qos(d *codec.Decoder) *amqpError {
	size, count, global := d.Long(), d.Short(), codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	if size != 0 {
		return newError(NotImplemented, "prefetch_size!=0 (%d)", size)
	}
	if global {
		ch.prefetchGlobal = count
	} else {
		ch.prefetch = count
	}
	ch.conn.sendMethod(ch.id, basicQosOk, nil)
	ch.kick()
	return nil
}

// confirmSelect handles confirm.select: from now on every publish is
// confirmed with basic.ack.
func (ch *channel) confirmSelect(d *codec.Decoder) *amqpError {
	nowait := codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	ch.confirm = true
	if !nowait {
		ch.conn.sendMethod(ch.id, confirmSelectOk, nil)
	}
	return nil
}

// ack handles basic.ack.
func (ch *channel) ack(d *codec.Decoder) *amqpError {
	tag, multiple := d.LongLong(), codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	us, err := ch.settle(tag, multiple)
	if err != nil {
		return err
	}
	ch.srv.stats.Acked += int64(len(us))
	ch.srv.stats.AckFrames++
	ch.kick()
	return nil
}

// nack handles basic.nack and basic.reject. Requeued messages go back to
// the head of their queue, marked redelivered; the others are dropped
// (nullbroker has no dead-lettering).
func (ch *channel) nack(d *codec.Decoder, isNack bool) *amqpError {
	tag, bits := d.LongLong(), d.Bits()
	if err := argsErr(d); err != nil {
		return err
	}
	multiple, requeue := false, codec.Bit(bits, 0)
	if isNack {
		multiple, requeue = codec.Bit(bits, 0), codec.Bit(bits, 1)
	}
	us, err := ch.settle(tag, multiple)
	if err != nil {
		return err
	}
	ch.srv.stats.Nacked += int64(len(us))
	if requeue {
		ch.srv.requeue(us)
	}
	ch.kick()
	return nil
}

// recover handles basic.recover and basic.recover-async: every unacked
// message of the channel is requeued. Like RabbitMQ, requeue=false is not
// supported.
func (ch *channel) recover(d *codec.Decoder, sync bool) *amqpError {
	requeue := codec.Bit(d.Bits(), 0)
	if err := argsErr(d); err != nil {
		return err
	}
	if !requeue {
		return newError(NotImplemented, "requeue=false")
	}
	us, _ := ch.settle(0, true)
	ch.srv.requeue(us)
	if sync {
		ch.conn.sendMethod(ch.id, basicRecoverOk, nil)
	}
	return nil
}

// track records a delivery that awaits acknowledgement.
func (ch *channel) track(u *unackedMsg) {
	ch.unacked[u.tag] = u
	ch.order = append(ch.order, u.tag)
	u.q.unacked++
	if u.cs != nil {
		u.cs.unacked++
	}
}

// settle removes and returns, in tag order, the deliveries an ack, nack or
// reject names: tag alone, or with multiple every tag up to it (all of them
// for tag 0). Like RabbitMQ, a tag that is not outstanding is a 406.
func (ch *channel) settle(tag uint64, multiple bool) ([]*unackedMsg, *amqpError) {
	all := multiple && tag == 0
	if _, ok := ch.unacked[tag]; !ok && !all {
		return nil, newError(PreconditionFailed, "unknown delivery tag %d", tag)
	}
	untrack := func(u *unackedMsg) {
		delete(ch.unacked, u.tag)
		u.q.unacked--
		if u.cs != nil {
			u.cs.unacked--
		}
	}
	if !multiple {
		u := ch.unacked[tag]
		untrack(u)
		// Drop settled tags from the front; compact when holes pile up.
		for len(ch.order) > 0 && ch.unacked[ch.order[0]] == nil {
			ch.order = ch.order[1:]
		}
		if len(ch.order) > 64 && len(ch.order) > 2*len(ch.unacked) {
			ch.order = slices.DeleteFunc(slices.Clone(ch.order), func(t uint64) bool { return ch.unacked[t] == nil })
		}
		return []*unackedMsg{u}, nil
	}
	var out []*unackedMsg
	i := 0
	for ; i < len(ch.order) && (all || ch.order[i] <= tag); i++ {
		if u := ch.unacked[ch.order[i]]; u != nil {
			out = append(out, u)
			untrack(u)
		}
	}
	ch.order = ch.order[i:]
	return out, nil
}

// kick offers messages to the channel's consumers, after something freed
// capacity (an ack, a qos change, flow resuming).
func (ch *channel) kick() {
	for _, cs := range ch.consumers {
		if cs.q != nil {
			ch.srv.dispatch(cs.q)
		}
	}
}

// ---- content ----

// handleHeader handles a content header frame. It reports whether the
// frame completed a publish.
func (ch *channel) handleHeader(p []byte) (bool, *amqpError) {
	pub := &ch.pub
	if pub.state != pubWantHeader {
		return false, newError(UnexpectedFrame, "unexpected content header frame")
	}
	d := codec.NewDecoder(p)
	class, _, size := d.Short(), d.Short(), d.LongLong()
	if d.Err() != nil || len(p) < 14 {
		return false, newError(FrameError, "content header of %d bytes", len(p))
	}
	if class != classBasic {
		return false, newError(UnexpectedFrame, "expected content header for class 60, got one for class %d", class)
	}
	limit := uint64(maxBodySize)
	if max := ch.srv.cfg.MaxMessageSize; max > 0 && uint64(max) < limit {
		limit = uint64(max)
	}
	if size > limit {
		ch.pub = pendingPublish{}
		e := newError(PreconditionFailed, "message size %d is larger than configured max size %d", size, limit)
		e.classID, e.methodID = basicPublish.class, basicPublish.method
		return false, e
	}
	pub.size = size
	pub.props = append([]byte(nil), p[12:]...)
	pub.state = pubWantBody
	if size == 0 {
		return true, ch.publishDone()
	}
	pub.body = make([]byte, 0, min(size, 1<<20))
	return false, nil
}

// handleBody handles a content body frame.
func (ch *channel) handleBody(p []byte) (bool, *amqpError) {
	pub := &ch.pub
	if pub.state != pubWantBody {
		return false, newError(UnexpectedFrame, "unexpected content body frame")
	}
	if uint64(len(pub.body))+uint64(len(p)) > pub.size {
		return false, newError(FrameError, "content body exceeds the declared size %d", pub.size)
	}
	pub.body = append(pub.body, p...)
	if uint64(len(pub.body)) < pub.size {
		return false, nil
	}
	return true, ch.publishDone()
}

// publishDone routes the assembled message and resets the publish state.
func (ch *channel) publishDone() *amqpError {
	p := ch.pub
	ch.pub = pendingPublish{}
	if err := ch.publish(&p); err != nil {
		err.classID, err.methodID = basicPublish.class, basicPublish.method
		return err
	}
	return nil
}
