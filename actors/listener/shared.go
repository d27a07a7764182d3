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
	"github.com/warrenmq/warren/internal/redact"
)

// listenerShared is the part of a listener that its delivery goroutines use.
// Everything in it is immutable after construction or atomic.
type listenerShared struct {
	env    *actors.Env
	spec   *Spec // the normalized spec, shared by every instance (read only)
	routes routes
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

	gen    atomic.Uint64                // current channel generation; deliveries of older ones are stale
	ch     atomic.Pointer[amqp.Channel] // current channel, for replies without the tree's publisher
	link   atomic.Pointer[actors.Link]  // its connection's socket: acks and replies are watched for stalls
	queue  atomic.Pointer[string]
	broker atomic.Pointer[string]
	// brokerZone is the zone of broker.
	brokerZone atomic.Pointer[string]
	pubMu      sync.Mutex // serialises replies published on ch
	flush      actors.CounterFlush
	counter    listenerCounters
}

type listenerCounters struct {
	received, acked, nacked, rejected, unhandled, errors, stale atomic.Uint64
	requeued, handled                                           atomic.Uint64
	inFlight                                                    atomic.Int64
}

func (s *listenerShared) queueName() string {
	if q := s.queue.Load(); q != nil {
		return *q
	}
	return ""
}

func (s *listenerShared) brokerID() string {
	if b := s.broker.Load(); b != nil {
		return *b
	}
	return ""
}

// listenerName is the name handlers see: a federator's deliveries are its
// parent's.
func (s *listenerShared) listenerName() string {
	if s.spec.parent != "" {
		return s.spec.parent
	}
	return s.spec.Name
}

// zone is the zone of the broker the listener's channel is on.
func (s *listenerShared) zone() string {
	if z := s.brokerZone.Load(); z != nil {
		return *z
	}
	return ""
}

// touch schedules a counters flush by the actor.
func (s *listenerShared) touch() {
	s.flush.Touch(s.env, s.self)
}

func (s *listenerShared) publish(ctx context.Context, exchange, key string, body []byte, corr, contentType string) error {
	// The tree's publishers serve the local zone: a federator, or a
	// listener consuming in another zone, replies on its own channel, so
	// that the reply goes back through the broker the request came from.
	if z := s.zone(); s.env.Replies != nil && !s.spec.replyOnChannel && (z == "" || z == s.env.LocalZone) {
		return s.env.Replies.PublishReply(ctx, exchange, key, body, corr, contentType)
	}
	ch := s.ch.Load()
	if ch == nil {
		return &actors.BrokerError{Broker: s.brokerID(), Op: "reply", Err: actors.ErrNotConnected}
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	return s.link.Load().Guard(ctx, func() error {
		return ch.PublishWithContext(ctx, exchange, key, false, false,
			amqp.Publishing{ContentType: contentType, CorrelationId: corr, Body: body})
	})
}

// handle runs one delivery through its handler and settles it. It runs on a
// worker goroutine; done (may be nil) is called once the handler returned,
// before the ack is written: a worker slot is never held by an ack stuck on
// a dead socket (the link's watchdog ends such an ack).
func (s *listenerShared) handle(d amqp.Delivery, gen uint64, done func()) {
	if s.stopping(gen) && s.spec.Ack != AckAuto {
		s.requeue(d, gen) // no handler starts once a drain or a move began
		return
	}
	s.counter.inFlight.Add(1)
	s.touch()
	defer func() {
		s.counter.inFlight.Add(-1)
		s.touch()
		s.wakeDrain()
	}()
	s.counter.received.Add(1)
	if s.spec.Ack == AckOnReceive {
		s.ack(d, gen, nil, false) // once, here: settle leaves it alone
	}
	del := &Delivery{Body: d.Body, Exchange: d.Exchange, RoutingKey: d.RoutingKey, Headers: d.Headers,
		ContentType: d.ContentType, ReplyTo: d.ReplyTo, CorrelationID: d.CorrelationId, MessageID: d.MessageId,
		Redelivered: d.Redelivered, Listener: s.listenerName(), Queue: s.queueName(), Broker: s.brokerID(), Zone: s.zone(), shared: s}
	h, ok := s.route(d, del, gen)
	if !ok {
		return
	}
	err, panicked := s.call(h, del)
	s.counter.handled.Add(1)
	if err != nil && !panicked && s.hctx.Err() != nil && s.spec.Ack == AckAfterHandler {
		// Warren cancelled the handler (a drain's deadline, the listener
		// stopping): the message goes back to the queue, never rejected.
		if done != nil {
			done()
		}
		s.requeue(d, gen)
		return
	}
	if err != nil {
		s.counter.errors.Add(1)
		if !panicked { // a panic is logged with its stack by call
			cat, name := "", ""
			if del.Envelope != nil {
				cat, name = del.Envelope.Text(s.spec.EventKey), del.Envelope.Text(s.spec.EventSubkey)
			}
			s.log.Warn("handler failed", "queue", del.Queue, "category", cat, "name", name, "ack", s.spec.Ack.String(),
				"routing_key", d.RoutingKey, "requeue", s.spec.RequeueOnError, "err", redact.Error(err))
		}
	}
	if done != nil {
		done()
	}
	s.settle(d, gen, err, panicked)
}

// route picks d's handler: for JSON, the most specific route of its event
// (Kamailio's order), for anything else (malformed JSON included) the raw
// handler. It settles d itself and returns false when no handler takes it:
// an event without a route is acked and counted unhandled, a payload
// nobody can read is rejected (to the queue's dead-letter exchange).
func (s *listenerShared) route(d amqp.Delivery, del *Delivery, gen uint64) (Handler, bool) {
	if isJSON(d.ContentType, d.Body) {
		env, err := kazoo.Parse(d.Body)
		if err == nil {
			del.Envelope = env
			cat, name := env.Text(s.spec.EventKey), env.Text(s.spec.EventSubkey)
			if h := s.routes.pick(cat, name); h != nil {
				return h, true
			}
			s.counter.unhandled.Add(1)
			s.log.Debug("no handler for event", "queue", del.Queue, "category", cat, "name", name)
			s.settle(d, gen, nil, false)
			return nil, false
		}
		if s.spec.Raw == nil {
			s.counter.rejected.Add(1)
			s.log.Warn("malformed JSON payload rejected", "queue", del.Queue, "routing_key", d.RoutingKey, "err", err)
			s.reject(d, gen)
			return nil, false
		}
		return s.spec.Raw, true // the raw handler takes what is not JSON after all
	}
	if s.spec.Raw == nil {
		s.counter.rejected.Add(1)
		s.log.Warn("non-JSON payload and no raw handler: rejected", "queue", del.Queue, "content_type", d.ContentType)
		s.reject(d, gen)
		return nil, false
	}
	return s.spec.Raw, true
}

// call runs h, turning a panic into an error logged with the event.
func (s *listenerShared) call(h Handler, d *Delivery) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("warren: handler panic: %v", r), true
			cat, name := "", ""
			if d.Envelope != nil {
				cat, name = d.Envelope.Text(s.spec.EventKey), d.Envelope.Text(s.spec.EventSubkey)
			}
			s.log.Error("handler panicked; message nacked", "queue", d.Queue, "category", cat, "name", name,
				"routing_key", d.RoutingKey, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	return h(s.hctx, d), false
}

// settle acks or nacks d on the channel it came from, unless that channel
// was replaced since: its tags mean nothing on the new one, and the broker
// has already requeued the message.
func (s *listenerShared) settle(d amqp.Delivery, gen uint64, err error, panicked bool) {
	if s.spec.Ack != AckAfterHandler {
		return // acked on arrival (AckAuto) or on receipt (AckOnReceive)
	}
	s.ack(d, gen, err, panicked)
}

// ack acks d (err nil) or nacks it, on the channel it came from.
func (s *listenerShared) ack(d amqp.Delivery, gen uint64, err error, panicked bool) {
	if gen != s.gen.Load() {
		s.counter.stale.Add(1)
		return
	}
	link := s.link.Load()
	var aerr error
	switch {
	case err == nil:
		if aerr = link.Watch(func() error { return d.Ack(false) }); aerr == nil {
			s.counter.acked.Add(1)
		}
	default:
		if aerr = link.Watch(func() error { return d.Nack(false, s.spec.RequeueOnError && !panicked) }); aerr == nil {
			s.counter.nacked.Add(1)
		}
	}
	if aerr != nil { // the channel closed under us
		s.counter.stale.Add(1)
	}
}

// requeue gives d back to the broker unhandled (nack with requeue), on the
// channel it came from; a delivery of a replaced channel was requeued by
// the broker already.
func (s *listenerShared) requeue(d amqp.Delivery, gen uint64) {
	if s.stopping(gen) {
		s.awaitCancelled()
	}
	if gen != s.gen.Load() {
		s.counter.stale.Add(1)
		return
	}
	if err := s.link.Load().Watch(func() error { return d.Nack(false, true) }); err != nil {
		s.counter.stale.Add(1)
		return
	}
	s.counter.requeued.Add(1)
	s.touch()
}

func (s *listenerShared) reject(d amqp.Delivery, gen uint64) {
	if s.spec.Ack == AckAuto || s.spec.Ack == AckOnReceive || gen != s.gen.Load() {
		return
	}
	if err := s.link.Load().Watch(func() error { return d.Reject(false) }); err != nil {
		s.counter.stale.Add(1)
	}
}

// ackOnArrival acks d for an AckAuto listener, before it is dispatched.
func (s *listenerShared) ackOnArrival(d amqp.Delivery) {
	if err := s.link.Load().Watch(func() error { return d.Ack(false) }); err != nil {
		s.counter.stale.Add(1)
		return
	}
	s.counter.acked.Add(1)
}

// isJSON decides how a payload is decoded: by content type (its parameters,
// such as "; charset=utf-8", aside), and for messages without one
// (Kamailio's amqp-tools peers), by its first byte.
func isJSON(contentType string, body []byte) bool {
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
