package listener

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
)

// Defaults are the envelope headers a listener puts in its replies.
type Defaults = kazoo.Defaults

// Delivery is one message handed to a Handler. It is owned by that handler
// call: when several routes match one event, each gets its own copy, and
// they share Envelope, Body and Headers, which handlers must then only
// read. Its acknowledgement is the listener's business (see AckPolicy),
// but for AckManual: then the handler calls Ack, Nack or Reject.
type Delivery struct {
	Envelope kazoo.Envelope // the decoded JSON event; nil for a raw payload
	Body     []byte

	Exchange      string
	RoutingKey    string
	Headers       amqp.Table
	ContentType   string
	ReplyTo       string // AMQP reply-to (direct reply-to between Warren peers)
	CorrelationID string
	MessageID     string
	Redelivered   bool
	// Attempt is which run of the handler on this delivery this is: 1,
	// then 2 and on when Spec.Retry runs it again after a failure.
	Attempt int

	Listener string // listener name (a federator's parent, for a federated delivery)
	Queue    string
	Broker   string // the broker it came from
	Zone     string // that broker's zone: another than the local one for a federated delivery

	traceID    string // the trace of the process span, when the tree traces
	shared     *listenerShared
	settlement *settlement // AckManual only: the one decision on this delivery, shared by its routes
}

// ErrNoReplyAddress is returned by Reply for a request that says neither
// where to answer (no AMQP reply-to, no Server-ID).
var ErrNoReplyAddress = errors.New("warren: request has no reply address (no reply-to property, no Server-ID)")

// Reply answers the request the Kazoo way: a JSON envelope carrying the
// request's Msg-ID (kazoo.NewReply) with fields, published to the AMQP
// reply-to with the request's correlation id when the request has one
// (Warren peers using direct reply-to), else to exchange "targeted" with the
// request's Server-ID as routing key (Kazoo and Kamailio peers).
//
// A Server-ID "consumer://<hint>/<key>" or "pid://<pid>/<key>" is answered
// on <key> (kazoo.ReplyAddress), a pid:// one with the AMQP header
// Deliver-To-PID: <pid>, as kz_amqp_util does. The reply goes back to the
// zone the request came from when the request says so: the broker a
// consumer:// hint names (a broker id), else the one AMQP-Broker names (a
// federator's delivery carries its broker there), else, for a consumer://
// Server-ID, the zone AMQP-Broker-Zone names, when the tree knows it.
// Another zone than the listener's channel's is reached through that
// zone's publishers; a tree without publishers fails such a reply with
// ErrReplyNoRoute.
func (d *Delivery) Reply(ctx context.Context, fields map[string]any) error {
	if d.Envelope == nil {
		return errors.New("warren: Reply needs a JSON request; use ReplyRaw")
	}
	env, err := kazoo.NewReply(d.Envelope, fields, d.shared.spec.Defaults)
	if err != nil {
		return fmt.Errorf("warren: reply to %s: %w", d.Envelope.MsgID(), err)
	}
	body, err := env.Marshal()
	if err != nil {
		return err
	}
	if d.ReplyTo != "" {
		return d.shared.publish(ctx, "", d.ReplyTo, body, d.CorrelationID, kazoo.ContentType)
	}
	addr, ok := d.Envelope.ReplyAddress()
	if !ok {
		return ErrNoReplyAddress
	}
	r := actors.Reply{Exchange: addr.Exchange, RoutingKey: addr.RoutingKey, Body: body, CorrelationID: d.CorrelationID,
		ContentType: kazoo.ContentType}
	if pid := addr.DeliverToPID(); pid != "" {
		r.Headers = amqp.Table{kazoo.HeaderDeliverToPID: pid}
	}
	return d.shared.publishTo(ctx, hintedZone(d.shared.env.Registry.Connections, addr), r)
}

// ReplyRaw answers a request that carries an AMQP reply-to with body as is.
func (d *Delivery) ReplyRaw(ctx context.Context, body []byte, contentType string) error {
	if d.ReplyTo == "" {
		return ErrNoReplyAddress
	}
	return d.shared.publish(ctx, "", d.ReplyTo, body, d.CorrelationID, contentType)
}
