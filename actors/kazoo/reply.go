package kazoo

import (
	"fmt"
	"strings"
)

// consumerPrefix starts a Server-ID that Kamailio rewrote for its scripts.
const consumerPrefix = "consumer://"

// ReplyTo returns where a reply to e goes: the "targeted" exchange with e's Server-ID as routing
// key. ok is false when e has no non-empty string Server-ID, i.e. the
// sender expects no reply.
//
// A Server-ID of the form "consumer://<n>/<key>" is the one Kamailio hands its scripts after it
// consumed a message: <n> numbers the Kamailio broker connection the message came in on and <key>
// is the original Server-ID. Such a Server-ID only reaches Warren if a script forwards a consumed
// payload. The routing key on the wire is <key>, so ReplyTo returns <key> and drops the broker
// hint; see [SplitConsumerServerID] to keep it.
func (e Envelope) ReplyTo() (exchange, routingKey string, ok bool) {
	id := e.ServerID()
	if _, key, isConsumer := SplitConsumerServerID(id); isConsumer {
		id = key
	}
	if id == "" {
		return "", "", false
	}
	return ExchangeTargeted, id, true
}

// SplitConsumerServerID splits a Kamailio-rewritten Server-ID "consumer://<n>/<key>" into the
// broker number <n> and the routing key <key>, at the first '/' after the prefix. ok is false
// when id does not have that form.
func SplitConsumerServerID(id string) (broker, routingKey string, ok bool) {
	rest, found := strings.CutPrefix(id, consumerPrefix)
	if !found {
		return "", "", false
	}
	broker, routingKey, ok = strings.Cut(rest, "/")
	if !ok || broker == "" {
		return "", "", false
	}
	return broker, routingKey, true
}

// NewReply builds the reply to req: a deep copy of fields, whose Event-Category and Event-Name
// say what the reply is, with Msg-ID set so that the requester can match it, then filled and
// checked as [Envelope.Prepare] does.
//
// Msg-ID is req's Msg-Reply-ID when it has one, otherwise req's Msg-ID: kz_amqp_worker waits for
// replies whose Msg-ID equals the request's Msg-Reply-ID, falling back to its Msg-ID;
// Kamailio sets no Msg-Reply-ID, so its queries get their own Msg-ID back. A Msg-ID in fields is
// replaced. A request with neither gives an error wrapping [ErrMissingHeader].
//
// Publish the result where req.ReplyTo() says. To validate against a specific API, prefer
// [API.Build] with the Msg-ID from [ReplyMsgID].
func NewReply(req Envelope, fields map[string]any, d Defaults) (Envelope, error) {
	id := ReplyMsgID(req)
	if id == "" {
		return nil, fmt.Errorf("%w: the request has no Msg-ID or Msg-Reply-ID to answer", ErrMissingHeader)
	}
	e := Envelope(cloneObject(fields))
	e.SetMsgID(id)
	if err := e.Prepare(d); err != nil {
		return nil, err
	}
	return e, nil
}

// ReplyMsgID returns the Msg-ID a reply to req must carry: req's Msg-Reply-ID when it is a
// non-empty string, otherwise its Msg-ID (kz_api:msg_reply_id/1).
func ReplyMsgID(req Envelope) string {
	if id := req.str(HeaderMsgReplyID); id != "" {
		return id
	}
	return req.MsgID()
}
