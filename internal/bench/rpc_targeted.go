package bench

import (
	"context"
	"encoding/json"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
)

// The Kazoo-style RPC path: the request names the caller's own queue as
// its Server-ID, the responder publishes the reply to the targeted
// exchange under that name, and the caller matches it by Msg-ID (which it
// has to parse out of the reply: Kazoo's replies carry no correlation id).

// rawTargetedRPC is a raw caller doing what a Kazoo caller does: an
// exclusive queue bound to targeted under its own name, consumed with
// auto-ack; each call publishes a request with a fresh Msg-ID and decodes
// replies until its own comes back.
func rawTargetedRPC(ctx context.Context, e *env) ([]float64, error) {
	q, ch, done, err := e.rawCaller()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := ch.ExchangeDeclare(kazoo.ExchangeTargeted, kazoo.KindDirect, false, false, false, false, nil); err != nil {
		return nil, err
	}
	e.seq++
	own := fmt.Sprintf("rawbench@localhost_worker-targeted-%d-0123abcd", e.seq) // as long as a Warren RPC worker's queue name
	if _, err := ch.QueueDeclare(own, false, true, true, false, nil); err != nil {
		return nil, err
	}
	if err := ch.QueueBind(own, own, kazoo.ExchangeTargeted, false, nil); err != nil {
		return nil, err
	}
	replies, err := ch.Consume(own, "", true, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	return latencies(ctx, e.opts.Duration, func() error { return rawTargetedCall(ch, replies, q, own) })
}

// rawTargetedCall makes one call to queue with serverID as the reply's
// routing key on targeted.
func rawTargetedCall(ch *amqp.Channel, replies <-chan amqp.Delivery, queue, serverID string) error {
	id, req, err := rawKazooRequest(serverID, "")
	if err != nil {
		return err
	}
	if err := ch.Publish("", queue, true, false, req); err != nil {
		return err
	}
	for d := range replies {
		var resp struct {
			MsgID string `json:"Msg-ID"`
		}
		if json.Unmarshal(d.Body, &resp) == nil && resp.MsgID == id {
			return nil
		}
	}
	return amqp.ErrClosed
}

// warrenTargetedRPC calls with Tree.Call without DirectReply: the RPC
// worker's own queue, bound to targeted, takes the reply.
func warrenTargetedRPC(ctx context.Context, e *env) ([]float64, error) {
	return warrenRoundTrips(ctx, e, false)
}
