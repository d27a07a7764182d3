package nullbroker

import (
	"strings"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// Direct reply-to (https://www.rabbitmq.com/docs/direct-reply-to): a client
// consumes from the pseudo-queue "amq.rabbitmq.reply-to" with no-ack and
// publishes requests with reply_to set to that name. The broker rewrites
// reply_to to "amq.rabbitmq.reply-to.<token>", and a reply published to the
// default exchange with that routing key goes straight to the consumer,
// without any queue.
const (
	replyToQueue  = "amq.rabbitmq.reply-to"
	replyToPrefix = replyToQueue + "."
)

// consumeReplyTo starts the channel's direct reply-to consumer.
func (ch *channel) consumeReplyTo(tag string, noAck, nowait bool) *amqpError {
	if !noAck {
		return newError(PreconditionFailed, "reply consumer cannot acknowledge")
	}
	if ch.reply != nil {
		return newError(PreconditionFailed, "reply consumer already set")
	}
	cs := &consumer{tag: tag, ch: ch, noAck: true, token: randomID()}
	ch.consumers[tag] = cs
	ch.reply = cs
	ch.srv.replyTo[cs.token] = cs
	if !nowait {
		ch.conn.sendMethod(ch.id, basicConsumeOk, func(e *codec.Encoder) { e.ShortStr(tag) })
	}
	return nil
}

// replyConsumer returns the direct reply-to consumer a publish to exchange
// x with routing key key addresses, or nil.
func (s *Server) replyConsumer(x *exchange, key string) *consumer {
	if x.name != "" || !isReplyTo(key) {
		return nil
	}
	cs := s.replyTo[strings.TrimPrefix(key, replyToPrefix)]
	if cs == nil || cs.ch.closing || cs.ch.released || cs.ch.conn.closing {
		return nil
	}
	return cs
}

// isReplyTo reports whether key addresses a direct reply-to consumer.
func isReplyTo(key string) bool { return strings.HasPrefix(key, replyToPrefix) }
