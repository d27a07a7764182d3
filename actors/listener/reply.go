package listener

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/tracing"
)

// ErrReplyReturned is wrapped by the error of a Reply or ReplyRaw that the
// broker returned (basic.return, 312 NO_ROUTE): no queue takes it — the
// queue of the request's AMQP reply-to does not exist (its requester is
// gone), or no queue is bound to "targeted" with the request's Server-ID.
// Replies are published mandatory and confirmed so that such a reply fails
// instead of vanishing; each is counted (the listener row's
// RepliesReturned) and logged at a bounded rate. A reply to a RabbitMQ
// direct reply-to is not mandatory (see publish.IsDirectReplyTo): one whose
// requester is gone is dropped by the broker untold.
var ErrReplyReturned = errors.New("warren: reply returned by the broker")

// ErrReplyNoRoute is wrapped by the error of a Reply whose request came
// from another zone than the listener's channel's (its consumer:// hint,
// AMQP-Broker or AMQP-Broker-Zone say so) in a tree that runs no
// publishers to reach that zone: published locally, the reply would not
// reach its requester.
var ErrReplyNoRoute = errors.New("warren: no route for the reply to the zone of its request")

// replyReturnsBuffer is the capacity of the NotifyReturn chan of a
// listener's own channel: only its replies are published mandatory there,
// each drains it after its confirm, so it holds at most one return per
// reply in flight (a worker each).
const replyReturnsBuffer = 64

// replyState is what the listener's current channel was set up with for
// replies published on it; guarded by pubMu.
type replyState struct {
	gen     uint64           // channel generation whose returns are registered
	returns chan amqp.Return // that channel's NotifyReturn
	seq     uint64           // message ids of replies: warren-reply-<gen>-<seq>
	wait    map[string]bool  // ids of replies awaiting their confirm
	got     map[string]amqp.Return
}

// publish publishes a reply, mandatory and confirmed: through the tree's
// publishers, or on the listener's own channel (a federator, a listener
// consuming in another zone, a tree without publishers), so that the reply
// goes back through the broker the request came from. A reply the broker
// returns fails with ErrReplyReturned.
func (s *listenerShared) publish(ctx context.Context, exchange, key string, body []byte, corr, contentType string) error {
	return s.publishTo(ctx, "", actors.Reply{Exchange: exchange, RoutingKey: key, Body: body, CorrelationID: corr, ContentType: contentType})
}

// publishTo publishes r as publish does, but to zone when zone names
// another zone than the listener's channel's: the request came from there
// (hintedZone), so the reply goes through that zone's publishers
// (Env.ZoneReplies). A reply with headers goes through the publishers of
// its zone too, or on the listener's own channel (ReplyPublisher takes
// none).
func (s *listenerShared) publishTo(ctx context.Context, zone string, r actors.Reply) error {
	here := s.zone() // the zone of the channel the request came in on
	if here == "" {
		here = s.spec.Zone
	}
	if here == "" {
		here = s.env.LocalZone
	}
	if zone != "" && zone != here {
		if s.env.ZoneReplies == nil {
			return fmt.Errorf("%w: zone %s (the request came from there): the tree runs no publishers", ErrReplyNoRoute, zone)
		}
		return s.returnedAs(r, s.env.ZoneReplies(ctx, zone, r))
	}
	if s.env.Replies != nil && !s.spec.replyOnChannel && here == s.env.LocalZone {
		if r.Headers != nil && s.env.ZoneReplies != nil {
			return s.returnedAs(r, s.env.ZoneReplies(ctx, here, r))
		}
		if r.Headers == nil {
			return s.returnedAs(r, s.env.Replies.PublishReply(ctx, r.Exchange, r.RoutingKey, r.Body, r.CorrelationID, r.ContentType))
		}
	}
	return s.publishOnChannel(ctx, r)
}

// returnedAs turns the error of a reply published through the publishers
// into the listener's: a return from the broker becomes ErrReplyReturned.
func (s *listenerShared) returnedAs(r actors.Reply, err error) error {
	if re := (*publish.ReturnedError)(nil); errors.As(err, &re) {
		return s.returned(r.Exchange, r.RoutingKey, re.Code, re.Text)
	}
	return err
}

// returned counts, logs (at a bounded rate) and returns the error of a
// reply the broker returned.
func (s *listenerShared) returned(exchange, key string, code uint16, text string) error {
	s.counter.repliesReturned.Add(1)
	s.touch()
	where := fmt.Sprintf("no queue %q (the requester's reply queue is gone)", key)
	if exchange != "" {
		where = fmt.Sprintf("no queue bound to exchange %q with routing key %q (the requester is gone)", exchange, key)
	}
	s.logs.returnedReplies().Warn(s.log, "reply returned by the broker: "+where, "queue", s.queueName(), "broker", s.brokerID(),
		"code", code, "text", text)
	return fmt.Errorf("%w: %d %s: %s", ErrReplyReturned, code, text, where)
}

// publishOnChannel publishes a reply on the listener's own channel, put in
// confirm mode (as dead letters do) with its returns registered, and waits
// for the confirm.
func (s *listenerShared) publishOnChannel(ctx context.Context, r actors.Reply) error {
	exchange, key := r.Exchange, r.RoutingKey
	st := s.current() // once: this reply's channel, link and broker belong together
	if st.ch == nil {
		return &actors.BrokerError{Broker: st.broker, Op: "reply", Err: actors.ErrNotConnected}
	}
	ch, link, gen := st.ch, st.link, st.gen
	if s.env.Tracer != nil {
		r.Headers = tracing.Inject(ctx, r.Headers) // the handler's process span: the reply continues its trace
	}
	s.pubMu.Lock()
	var dc *amqp.DeferredConfirmation
	var id string
	err := func() error {
		if s.dl.confirmGen != gen {
			if err := link.Watch(func() error { return ch.Confirm(false) }); err != nil {
				return fmt.Errorf("confirm mode: %w", err)
			}
			s.dl.confirmGen = gen
		}
		if s.reply.gen != gen {
			s.reply.gen, s.reply.returns = gen, ch.NotifyReturn(make(chan amqp.Return, replyReturnsBuffer))
			s.reply.wait, s.reply.got = map[string]bool{}, map[string]amqp.Return{}
		}
		s.reply.seq++
		id = "warren-reply-" + strconv.FormatUint(gen, 36) + "-" + strconv.FormatUint(s.reply.seq, 36)
		s.reply.wait[id] = true
		return link.Guard(ctx, func() error {
			var err error
			mandatory := exchange != "" || !publish.IsDirectReplyTo(key) // see publish.IsDirectReplyTo
			dc, err = ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false,
				amqp.Publishing{ContentType: r.ContentType, CorrelationId: r.CorrelationID, MessageId: id, Body: r.Body, Headers: r.Headers})
			return err
		})
	}()
	s.pubMu.Unlock()
	if err == nil && dc == nil {
		err = errors.New("channel not in confirm mode")
	}
	var acked bool
	if err == nil {
		acked, err = dc.WaitContext(ctx)
	}
	// amqp091's reader hands a return over before the ack of that message.
	ret, wasReturned := s.settleReply(gen, id)
	switch {
	case wasReturned:
		return s.returned(exchange, key, ret.ReplyCode, ret.ReplyText)
	case err != nil:
		return &actors.BrokerError{Broker: st.broker, Op: "reply", Err: err}
	case !acked:
		return &actors.BrokerError{Broker: st.broker, Op: "reply", Err: errors.New("nacked by the broker")}
	}
	return nil
}

// settleReply ends the wait of reply id of channel generation gen and
// reports whether the broker returned it.
func (s *listenerShared) settleReply(gen uint64, id string) (amqp.Return, bool) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if s.reply.gen != gen || id == "" {
		return amqp.Return{}, false
	}
	for done := false; !done; {
		select {
		case r, ok := <-s.reply.returns:
			if !ok {
				done = true
			} else if s.reply.wait[r.MessageId] {
				s.reply.got[r.MessageId] = r
			}
		default:
			done = true
		}
	}
	r, ok := s.reply.got[id]
	delete(s.reply.wait, id)
	delete(s.reply.got, id)
	return r, ok
}
