package publish

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// Publisher pool defaults.
const (
	// DefaultPublishers is the number of publisher actors, each with a
	// channel in confirm mode and a plain one.
	DefaultPublishers = 2
	// DefaultBuffer is how many publishes may wait for a usable
	// channel at once.
	DefaultBuffer = 1000
	// DefaultMaxWait bounds how long a publish waits for a usable
	// channel (a broker up, not blocked).
	DefaultMaxWait = 5 * time.Second
	// DefaultConfirmTimeout bounds how long a confirmed publish whose ctx has
	// no earlier deadline waits for the broker's confirm (checked every
	// 250ms).
	DefaultConfirmTimeout = 30 * time.Second
	// DefaultMaxMessageSize is RabbitMQ's default max_message_size (128 MiB).
	DefaultMaxMessageSize = 128 << 20
)

// Config sizes a publishers pool: Publishers actors
// ("warren/publishers/publishers-N"), each holding one channel of the zone
// in confirm mode for confirmed publishes and, through its child "plain",
// one without confirms for fire-and-forget publishes. Zero fields take the
// defaults. It is supervisor.Config.Publish, the config.ini keys named
// below.
type Config struct {
	// Publishers is the number of publisher actors (publishers). Defaults
	// to DefaultPublishers (2). A negative value runs no publishers:
	// supervisor.Tree.Publish then fails with ErrStopped; NewPool refuses it.
	Publishers int
	// Buffer is how many publishes may wait at once for a usable channel
	// (no broker up, or the broker blocked publishing); one more fails at
	// once with ErrBufferFull (publish_buffer). Defaults to DefaultBuffer
	// (1000).
	Buffer int
	// MaxWait bounds how long a publish waits for a usable channel
	// (publish_max_wait). Defaults to DefaultMaxWait (5s).
	MaxWait time.Duration
	// ConfirmTimeout bounds how long a confirmed publish waits for the
	// broker's ack when its ctx has no earlier deadline. Defaults to
	// DefaultConfirmTimeout (30s).
	ConfirmTimeout time.Duration
	// MaxMessageSize is the largest body a publish may carry; set it to the
	// brokers' max_message_size (publish_max_message_size). A larger
	// publish fails at once with ErrTooLarge instead of closing a channel
	// other callers publish on. Defaults to DefaultMaxMessageSize
	// (RabbitMQ's 128 MiB).
	MaxMessageSize int
	// ServerConfirms makes every publish of the pool wait for the broker's
	// confirm, as if it carried Confirm (Kazoo's [amqp]
	// pool_server_confirms). Defaults to false, as in Kazoo: a publish
	// without Confirm returns once written.
	ServerConfirms bool
	// Zone is the zone whose brokers the publishers' channels come from.
	// Defaults to the local zone.
	Zone string
	// Broker pins the publishers to one broker (a broker id, as in the
	// connections table's Broker column): their channels are Sticky
	// there (Kazoo's add_amqp_pool pinned to a broker) and wait while it
	// is down instead of moving to another broker of the zone. Zone must
	// then be the broker's. Defaults to none: floats of the zone.
	Broker string
	// Tag asks for the channels on a broker of the zone with that tag
	// (actors.RequestChannel.Tag, Kazoo's broker_tag), as Stickies.
	// Defaults to none.
	Tag string
}

// channelRequest is what a publisher of the pool asks the assignments
// actor for: floats of zone, or stickies on the pinned broker or tag.
func (c Config) channelRequest(consumer *actor.PID, zone string) *actors.RequestChannel {
	req := &actors.RequestChannel{Consumer: consumer, App: "publisher", Zone: zone, Role: registry.Publish, CanMove: true}
	if c.Broker != "" || c.Tag != "" {
		req.Type, req.Broker, req.Tag, req.CanMove = registry.Sticky, c.Broker, c.Tag, false
	}
	return req
}

// Validate reports a negative buffer, duration or size, naming its
// config.ini key. A negative Publishers is valid: it runs none.
func (c Config) Validate() error {
	for _, f := range []struct {
		key string
		bad bool
	}{
		{"buffer", c.Buffer < 0},
		{"max_wait", c.MaxWait < 0},
		{"confirm_timeout", c.ConfirmTimeout < 0},
		{"max_message_size", c.MaxMessageSize < 0},
	} {
		if f.bad {
			return fmt.Errorf("%s: %w", f.key, errNegative)
		}
	}
	return nil
}

var errNegative = errors.New("must not be negative")

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Publishers == 0 {
		c.Publishers = DefaultPublishers
	}
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = DefaultConfirmTimeout
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	return c
}
