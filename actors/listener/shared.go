package listener

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
)

// listenerShared is the part of a listener that its delivery goroutines use.
// Everything in it is immutable after construction or atomic.
type listenerShared struct {
	env  *actors.Env
	spec *Spec // the normalized spec, shared by every instance (read only)
	// routes is the route table, replaced whole by the actor when a route
	// is added or removed at run time (never nil); tokens is shared by
	// every instance.
	routes atomic.Pointer[routeTable]
	tokens *tokens
	hook   []target      // HandleEvent, if set: appended to every delivery's targets
	raw    []target      // the targets of a payload that is not a JSON event: Raw and HandleEvent
	slots  chan struct{} // one token per handler running (Spec.Workers)
	log    *slog.Logger
	self   *actor.PID
	ctx    context.Context // cancelled when the listener stops
	// hctx is the handlers' ctx: cancelled when the listener stops, or
	// when a drain's deadline passes (hcancel).
	hctx    context.Context
	hcancel context.CancelFunc

	drainStarted chan struct{} // closed when a drain begins: no handler starts from then on
	drainWake    chan struct{} // 1 slot: a handler or a forwarder ended (see wakeDrain)
	forwarding   atomic.Int32  // forwarding goroutines running
	setupPending atomic.Bool   // a replay runs, whose consume may start a forwarder
	retiring     atomic.Uint64 // the channel generation a move retires (0: none)
	// cancelled is closed once the broker confirmed the drain's cancel of
	// the consumer (nil: no cancel sent).
	cancelled atomic.Pointer[chan struct{}]

	// cur is the current channel's state, replaced whole by the actor
	// (never nil): one load gives a generation, channel, link, queue,
	// broker and zone that belong together.
	cur     atomic.Pointer[channelState]
	pubMu   sync.Mutex      // serialises replies and dead letters published on the channel
	dl      deadLetterState // guarded by pubMu
	reply   replyState      // guarded by pubMu
	flush   actors.CounterFlush
	counter listenerCounters

	dedup *dedup    // nil unless Spec.Dedup has a window; shared by every instance
	logs  *rateLogs // handler failures, payloads no handler can read, replies the broker returned
}

type listenerCounters struct {
	received, acked, nacked, rejected, unhandled, errors, stale atomic.Uint64
	retried, deadLettered, requeued, duplicates, handled        atomic.Uint64
	repliesReturned                                             atomic.Uint64
	inFlight                                                    atomic.Int64
}

// queueName is the queue's name, once a replay declared it.
func (s *listenerShared) queueName() string { return s.current().queue }

// brokerID is the broker of the current (or last) channel.
func (s *listenerShared) brokerID() string { return s.current().broker }

// listenerName is the name handlers see: a federator's deliveries are its
// parent's.
func (s *listenerShared) listenerName() string {
	if s.spec.parent != "" {
		return s.spec.parent
	}
	return s.spec.Name
}

// zone is the zone of the broker the listener's channel is on.
func (s *listenerShared) zone() string { return s.current().zone }

// touch schedules a counters flush by the actor.
func (s *listenerShared) touch() {
	s.flush.Touch(s.env, s.self)
}

// handle runs one delivery through its handler and settles it. It runs on a
// worker goroutine; done (may be nil) is called once the handler returned
// (after its retries), before the ack or dead letter is written: a worker
// slot is never held by an ack stuck on a dead socket (the link's watchdog
// ends such an ack).
func (s *listenerShared) handle(d amqp.Delivery, gen uint64, done func()) {
	if s.retired(gen) && s.spec.Ack != AckAuto {
		s.requeue(d, gen) // no handler starts once a drain or a move began
		return
	}
	if tr := s.env.Tracer; tr != nil {
		s.handleTraced(tr, d, gen, done)
		return
	}
	s.handleIn(s.handlerCtx(), "", d, gen, done)
}

// handleIn is handle's work, with hctx the handlers' ctx (carrying the
// process span when tracing) and traceID its trace's id ("" untraced). It
// returns the class and error of a delivery no handler took or whose
// handler failed, for the process span.
func (s *listenerShared) handleIn(hctx context.Context, traceID string, d amqp.Delivery, gen uint64, done func()) (class string, err error) {
	s.counter.inFlight.Add(1)
	s.touch()
	defer func() {
		s.counter.inFlight.Add(-1)
		s.touch()
		s.wakeDrain()
	}()
	s.counter.received.Add(1)
	if s.spec.Ack == AckOnReceive {
		s.ack(d, gen) // once, here: settle leaves it alone
	}
	st := s.current() // once: queue, broker and zone of one channel
	del := &Delivery{Body: d.Body, Exchange: d.Exchange, RoutingKey: d.RoutingKey, Headers: d.Headers,
		ContentType: d.ContentType, ReplyTo: d.ReplyTo, CorrelationID: d.CorrelationId, MessageID: d.MessageId,
		Redelivered: d.Redelivered, Listener: s.listenerName(), Queue: st.queue, Broker: st.broker, Zone: st.zone, shared: s,
		traceID: traceID}
	if s.spec.Ack == AckManual {
		del.settlement = &settlement{d: d, gen: gen, s: s}
	}
	ts, ok := s.route(hctx, d, del, gen, done)
	if !ok {
		return "", nil // settled by route: no handler ran
	}
	var claim *dedupClaim
	if s.dedup != nil {
		if key := dedupKey(d, del); key != "" {
			c, dup, err := s.dedup.begin(hctx, key)
			switch {
			case err != nil: // the listener stops while the first is still handled
				s.settleStopping(d, gen)
				return "stopped", err
			case dup:
				s.counter.duplicates.Add(1)
				if s.warrenSettles() {
					s.ackDuplicate(d, gen)
				}
				return "", nil
			}
			claim = c
		}
	}
	o := s.runTargets(hctx, ts, del, gen)
	s.counter.handled.Add(1)
	if claim != nil {
		claim.finish(o.err == nil)
	}
	if o.err != nil {
		s.counter.errors.Add(1)
	}
	if done != nil {
		done()
	}
	switch {
	case s.spec.Ack == AckManual:
		s.settleManual(hctx, d, del, gen, o)
	case o.err == nil:
		s.settle(d, gen)
	default:
		s.failed(hctx, d, del, gen, o.err, o.panicked, o.runs)
	}
	switch {
	case o.err == nil:
		return "", nil
	case o.panicked:
		return "panic", o.err
	}
	return "handler_error", o.err
}

// warrenSettles reports whether the listener acks, nacks or dead-letters
// its deliveries after their handlers (AckAfterHandler), or those its
// handlers left undecided (AckManual).
func (s *listenerShared) warrenSettles() bool {
	return s.spec.Ack == AckAfterHandler || s.spec.Ack == AckManual
}

// route picks d's handlers: for JSON, the routes of its event (every one
// matching, or under DispatchOne the most specific), for anything else
// (malformed JSON included) the raw handler; HandleEvent with either. It
// settles d itself (done called first, as handle does) and returns false
// when no handler takes it:
// an event without a route is acked and counted unhandled, a payload
// nobody can read, or a delivery whose headers the link dropped
// (actors.DroppedHeadersHeader), is rejected (OnError Discard) or
// dead-lettered.
func (s *listenerShared) route(hctx context.Context, d amqp.Delivery, del *Delivery, gen uint64, done func()) ([]target, bool) {
	if why, ok := d.Headers[actors.DroppedHeadersHeader].(string); ok {
		// The link replaced headers amqp091 could not read (which would
		// have closed the connection): what the handler expects is gone.
		s.unreadable(hctx, d, gen, done, fmt.Errorf("headers unreadable, dropped by Warren: %s", why),
			"delivery with unreadable headers %s", "queue", del.Queue, "routing_key", d.RoutingKey, "reason", why)
		return nil, false
	}
	if isJSON(d.ContentType, d.Body) {
		env, body, err := kazoo.ParseEncoded(d.Body, d.ContentEncoding) // gzip decompressed, bounded, as gen_listener does
		if err == nil {
			del.Envelope, del.Body = env, body
			s.markFederated(env, del.Broker, del.Zone)
			cat, name := env.Text(s.spec.EventKey), env.Text(s.spec.EventSubkey)
			if ts := s.routes.Load().match(s.tokens, cat, name, s.spec.Dispatch, s.hook); len(ts) > 0 {
				return ts, true
			}
			s.counter.unhandled.Add(1)
			s.log.Debug("no handler for event", "queue", del.Queue, "category", cat, "name", name)
			s.settle(d, gen)
			return nil, false
		}
		if len(s.raw) == 0 {
			s.unreadable(hctx, d, gen, done, fmt.Errorf("malformed JSON payload: %w", err), "malformed JSON payload %s",
				"queue", del.Queue, "routing_key", d.RoutingKey, "err", err)
			return nil, false
		}
		return s.raw, true // the raw handler takes what is not JSON after all
	}
	if len(s.raw) == 0 {
		s.unreadable(hctx, d, gen, done, fmt.Errorf("non-JSON payload (content type %q) and no raw handler", d.ContentType),
			"non-JSON payload and no raw handler: %s", "queue", del.Queue, "content_type", d.ContentType)
		return nil, false
	}
	return s.raw, true
}

// unreadable settles a delivery no handler can read: rejected under
// OnError Discard (to the queue's dead-letter exchange if it has one),
// dead-lettered otherwise, and logged at a bounded rate (msg has a %s for
// which of the two).
func (s *listenerShared) unreadable(hctx context.Context, d amqp.Delivery, gen uint64, done func(), why error, msg string, args ...any) {
	s.counter.rejected.Add(1)
	if done != nil {
		done() // the slot is free: no handler runs
	}
	if s.spec.OnError == Discard || !s.warrenSettles() {
		s.logs.rejections().Warn(s.log, fmt.Sprintf(msg, "rejected"), args...)
		s.reject(d, gen)
		return
	}
	if s.stopping(hctx) {
		s.settleStopping(d, gen)
		return
	}
	s.logs.rejections().Warn(s.log, fmt.Sprintf(msg, "dead-lettered"), args...)
	s.deadLetter(hctx, d, gen, why, 0)
}

// call runs h, turning a panic into an error logged (at a bounded rate)
// with the event.
func (s *listenerShared) call(hctx context.Context, h Handler, d *Delivery, run int) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("panic: %v", r), true
			cat, name := "", ""
			if d.Envelope != nil {
				cat, name = d.Envelope.Text(s.spec.EventKey), d.Envelope.Text(s.spec.EventSubkey)
			}
			s.logs.failures().Error(s.log, "handler panicked", withTraceID(d, "queue", d.Queue, "category", cat, "name", name,
				"routing_key", d.RoutingKey, "attempt", run, "then", s.afterPanic(), "panic", r, "stack", string(debug.Stack()))...)
		}
	}()
	d.Attempt = run
	return h(hctx, d), false
}

// afterPanic says, for the log, what becomes of a delivery whose handler
// panicked.
func (s *listenerShared) afterPanic() string {
	switch {
	case !s.warrenSettles():
		return "nothing: acked already"
	case s.spec.OnError == Discard:
		return "discard"
	}
	return "dead-letter"
}

// settle acks d, handled, unless the listener acked it already (AckAuto,
// AckOnReceive).
func (s *listenerShared) settle(d amqp.Delivery, gen uint64) {
	if !s.warrenSettles() {
		return // acked on arrival (AckAuto) or on receipt (AckOnReceive)
	}
	s.ack(d, gen)
}

// requeue gives d back to the broker unhandled (nack with requeue), on the
// channel it came from, once a drain's or a move's cancel of the consumer
// was confirmed (see awaitCancelled); counted requeued, not nacked.
func (s *listenerShared) requeue(d amqp.Delivery, gen uint64) {
	if s.retired(gen) {
		s.awaitCancelled()
	}
	if s.writeOther(gen, d, func() error { return d.Nack(false, true) }) {
		s.counter.requeued.Add(1)
		s.touch()
	}
}

// settleStopping gives d back to the broker while the listener stops.
func (s *listenerShared) settleStopping(d amqp.Delivery, gen uint64) {
	if s.warrenSettles() {
		s.nack(d, gen, true)
	}
}

// ack acks d on the channel it came from, unless that channel was replaced
// since: its tags mean nothing on the new one, and the broker has already
// requeued the message.
func (s *listenerShared) ack(d amqp.Delivery, gen uint64) {
	if s.writeAck(gen, d) {
		s.counter.acked.Add(1)
	}
}

// ackDuplicate acks a duplicate without counting it acked.
func (s *listenerShared) ackDuplicate(d amqp.Delivery, gen uint64) {
	s.writeAck(gen, d)
}

// nack nacks d on the channel it came from (see ack).
func (s *listenerShared) nack(d amqp.Delivery, gen uint64, requeue bool) {
	if s.writeOther(gen, d, func() error { return d.Nack(false, requeue) }) {
		s.counter.nacked.Add(1)
		if requeue {
			s.counter.requeued.Add(1)
		}
	}
}

// writeAck acks d, a delivery of generation gen, through its channel's
// acker (which may combine it with other acks into one frame), under the
// link's watch; false (counted stale) when the channel is gone.
func (s *listenerShared) writeAck(gen uint64, d amqp.Delivery) bool {
	return s.writeSettle(gen, d, nil)
}

// writeOther writes settle, a nack or a reject of d, as writeAck does.
func (s *listenerShared) writeOther(gen uint64, d amqp.Delivery, settle func() error) bool {
	return s.writeSettle(gen, d, settle)
}

// writeSettle is writeAck (other nil) and writeOther.
func (s *listenerShared) writeSettle(gen uint64, d amqp.Delivery, other func() error) bool {
	st := s.current()
	if gen != st.gen {
		s.counter.stale.Add(1)
		return false
	}
	var err error
	switch {
	case st.acks != nil && other == nil:
		err = st.acks.ack(d.DeliveryTag)
	case st.acks != nil:
		err = st.acks.other(d.DeliveryTag, other)
	case other == nil:
		err = st.link.Watch(func() error { return d.Ack(false) })
	default:
		err = st.link.Watch(other)
	}
	if err != nil { // the channel closed under us
		s.counter.stale.Add(1)
		return false
	}
	return true
}

func (s *listenerShared) reject(d amqp.Delivery, gen uint64) {
	if s.spec.Ack == AckAuto || s.spec.Ack == AckOnReceive {
		return
	}
	s.writeOther(gen, d, func() error { return d.Reject(false) })
}

// ackOnArrival acks d for an AckAuto listener, before it is dispatched.
func (s *listenerShared) ackOnArrival(d amqp.Delivery, gen uint64) {
	st := s.current()
	var err error
	if st.gen == gen && st.acks != nil {
		err = st.acks.ack(d.DeliveryTag)
	} else { // a channel a move retired: d is acked on it all the same, as it is handled
		err = st.link.Watch(func() error { return d.Ack(false) })
	}
	if err != nil {
		s.counter.stale.Add(1)
		return
	}
	s.counter.acked.Add(1)
}

// isJSON decides how a payload is decoded: by content type (its parameters,
// such as "; charset=utf-8", aside), and for messages without one
// (Kamailio's amqp-tools peers), by its first byte.
func isJSON(contentType string, body []byte) bool {
	if contentType == kazoo.ContentType { // what Kazoo sends: no media type to parse (it allocates)
		return true
	}
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	} else if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch {
	case ct == kazoo.ContentType || strings.HasSuffix(ct, "+json"):
		return true
	case ct == "":
		b := bytes.TrimLeft(body, " \t\r\n")
		return len(b) > 0 && (b[0] == '{' || b[0] == '[')
	}
	return false
}
