package listener

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
)

// Dead-letter headers (the contract of `warren errors`).
const (
	HeaderError            = "x-warren-error"                // why (redacted, at most MaxErrorHeader bytes)
	HeaderListener         = "x-warren-listener"             // the listener's name
	HeaderQueue            = "x-warren-queue"                // the queue it was consumed from
	HeaderAttempts         = "x-warren-attempts"             // int32: handler runs
	HeaderOriginalExchange = "x-warren-original-exchange"    // where it was published
	HeaderOriginalKey      = "x-warren-original-routing-key" // with this routing key
	HeaderFailedAt         = "x-warren-failed-at"            // timestamp
	HeaderBroker           = "x-warren-broker"               // broker id
	MaxErrorHeader         = 1024                            // bytes of HeaderError
	ErrorQueueSuffix       = "_error"                        // "<queue>_error"
	deadLetterTimeout      = 10 * time.Second                // bound of a dead letter's publish and confirm
	dlxArg, dlxKeyArg      = "x-dead-letter-exchange", "x-dead-letter-routing-key"
)

// ErrorQueue is the name of the error queue of a listener named listener
// consuming queue q: "<queue>_error", or "<listener>_error" when q goes
// away with its channel (exclusive or auto-delete).
func ErrorQueue(listener string, q QueueSpec, queue string) string {
	if !q.outlivesChannel() || queue == "" {
		return listener + ErrorQueueSuffix
	}
	return queue + ErrorQueueSuffix
}

// deadLetterState is what a listener's current channel has been set up with
// for dead letters; guarded by pubMu.
type deadLetterState struct {
	confirmGen uint64 // channel generation put in confirm mode
	queueGen   uint64 // channel generation the error queue was declared on
}

// errText is err redacted and cut to MaxErrorHeader bytes (on a rune
// boundary).
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := redact.Error(err)
	if len(s) <= MaxErrorHeader {
		return s
	}
	s = s[:MaxErrorHeader]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// deadLetter publishes d, with the x-warren-* headers, to the queue's
// dead-letter exchange or its error queue, on the listener's own channel
// (the one d came on), and acks d once the broker confirmed it. If the
// dead letter cannot be confirmed, d is nacked with requeue: it is never
// lost. A delivery of an older channel is left alone (the broker requeued
// it when that channel closed).
func (s *listenerShared) deadLetter(hctx context.Context, d amqp.Delivery, gen uint64, why error, runs int) {
	st, ok := s.channelOf(gen)
	if !ok {
		s.counter.stale.Add(1)
		return
	}
	ctx, cancel := context.WithTimeout(hctx, deadLetterTimeout)
	defer cancel()
	exchange, key, err := s.publishDeadLetter(ctx, st, d, why, runs)
	if err != nil {
		if gen != s.current().gen {
			s.counter.stale.Add(1) // the channel went: the broker requeues d
			return
		}
		s.logs.failures().Error(s.log, "dead letter not confirmed; message requeued", "queue", st.queue, "exchange", exchange,
			"routing_key", key, "err", redact.Error(err))
		s.nack(d, gen, true)
		return
	}
	if err := st.acks.ack(d.DeliveryTag); err != nil {
		s.counter.stale.Add(1) // published, but the ack is lost: the broker redelivers it (dedup tells)
		return
	}
	s.counter.deadLettered.Add(1)
	s.touch()
}

// channelOf returns the current channel state if it is still that of
// generation gen and holds a channel: one load, so its channel, link,
// queue and broker belong together.
func (s *listenerShared) channelOf(gen uint64) (*channelState, bool) {
	st := s.current()
	if st.gen != gen || st.ch == nil {
		return nil, false
	}
	return st, true
}

// publishDeadLetter writes the dead letter of d and waits for its confirm.
func (s *listenerShared) publishDeadLetter(ctx context.Context, st *channelState, d amqp.Delivery,
	why error, runs int) (exchange, key string, err error) {
	ch, link, gen := st.ch, st.link, st.gen
	exchange, key, viaDLX := s.deadLetterRoute(d, st.queue)
	msg := deadLetterMessage(d, why, runs, s.listenerName(), st.queue, st.broker)
	s.pubMu.Lock()
	var dc *amqp.DeferredConfirmation
	err = func() error {
		if s.dl.confirmGen != gen {
			if err := link.Watch(func() error { return ch.Confirm(false) }); err != nil {
				return fmt.Errorf("confirm mode: %w", err)
			}
			s.dl.confirmGen = gen
		}
		if !viaDLX && s.dl.queueGen != gen {
			if err := link.Watch(func() error {
				_, err := ch.QueueDeclare(key, true, false, false, false, nil)
				return err
			}); err != nil {
				return fmt.Errorf("declare error queue %s: %w", key, err)
			}
			s.dl.queueGen = gen
		}
		return link.Guard(ctx, func() error {
			var err error
			dc, err = ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
			return err
		})
	}()
	s.pubMu.Unlock()
	if err != nil {
		return exchange, key, err
	}
	if dc == nil {
		return exchange, key, errors.New("channel not in confirm mode")
	}
	acked, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return exchange, key, fmt.Errorf("no confirm: %w", err)
	case !acked:
		return exchange, key, errors.New("nacked by the broker, or the channel closed")
	}
	return exchange, key, nil
}

// deadLetterRoute is where d's dead letter, consumed from queue, goes: the queue's dead-letter
// exchange when its args name one, else the error queue.
func (s *listenerShared) deadLetterRoute(d amqp.Delivery, queue string) (exchange, key string, viaDLX bool) {
	if x, ok := s.spec.Queue.Args[dlxArg].(string); ok {
		key = d.RoutingKey
		if k, ok := s.spec.Queue.Args[dlxKeyArg].(string); ok && k != "" {
			key = k
		}
		return x, key, true
	}
	return "", ErrorQueue(s.listenerName(), s.spec.Queue, queue), false
}

// deadLetterMessage is d as published again: its body, properties and
// headers plus the x-warren-* headers. Two properties are changed: it is
// persistent (an error queue outlives broker restarts), and it has no
// per-message TTL (it would expire in the error queue; RabbitMQ's own
// dead-lettering drops it too) nor user-id (the broker refuses a user-id
// that is not the publishing connection's).
func deadLetterMessage(d amqp.Delivery, why error, runs int, listener, queue, broker string) amqp.Publishing {
	h := make(amqp.Table, len(d.Headers)+8)
	for k, v := range d.Headers {
		h[k] = v
	}
	h[HeaderError] = errText(why)
	h[HeaderListener] = listener
	h[HeaderQueue] = queue
	h[HeaderAttempts] = int32(runs)
	h[HeaderOriginalExchange] = d.Exchange
	h[HeaderOriginalKey] = d.RoutingKey
	h[HeaderFailedAt] = time.Now().UTC().Truncate(time.Second)
	h[HeaderBroker] = broker
	return amqp.Publishing{Headers: h, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: amqp.Persistent, Priority: d.Priority, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo,
		MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, AppId: d.AppId, Body: d.Body}
}
