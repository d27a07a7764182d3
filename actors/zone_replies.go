package actors

import (
	"context"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Reply is one reply a listener publishes through the tree's publishers
// of a zone (Env.ZoneReplies).
type Reply struct {
	Exchange      string
	RoutingKey    string
	Body          []byte
	CorrelationID string
	ContentType   string
	Headers       amqp.Table // nil for none; a pid:// reply's Deliver-To-PID
}

// ZoneReplies publishes a reply to the brokers of zone through the tree's
// publishers of that zone, mandatory (unless to a direct reply-to) and
// confirmed, as ReplyPublisher does for the local zone. A zone the tree
// does not know, or whose publishers it does not run, fails.
type ZoneReplies func(ctx context.Context, zone string, r Reply) error
