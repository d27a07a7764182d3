package supervisor

import (
	"context"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
)

// publishZoneReply publishes a listener's reply through the publishers of
// zone ("" the local one): actors.Env.ZoneReplies, for a reply that goes
// back to the zone its request came from (a consumer:// Server-ID, or the
// AMQP-Broker a federator added) or that carries headers (pid://). Like
// publish.Pool.PublishReply it is confirmed, and mandatory unless it goes
// to a RabbitMQ direct reply-to.
func (t *Tree) publishZoneReply(ctx context.Context, zone string, r actors.Reply) error {
	p, err := t.publishersOf(zone)
	if err != nil {
		return err
	}
	opts := []publish.Option{publish.CorrelationID(r.CorrelationID), publish.ContentType(r.ContentType), publish.Confirm()}
	if r.Exchange != "" || !publish.IsDirectReplyTo(r.RoutingKey) {
		opts = append(opts, publish.Mandatory())
	}
	if r.Headers != nil {
		opts = append(opts, publish.Headers(r.Headers))
	}
	return p.Publish(ctx, r.Exchange, r.RoutingKey, r.Body, opts...)
}
