package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warrenmq/warren/actors/publish"
)

// PublishConfig sizes the publishers pool behind [Tree.Publish]: Publishers
// actors ("warren/publishers/publishers-N"), each holding one channel of the
// zone in confirm mode for confirmed publishes and, through its child
// "plain", one without confirms for fire-and-forget publishes. Zero fields
// take the defaults.
type PublishConfig struct {
	// Publishers is the number of publisher actors. Defaults to
	// publish.DefaultPublishers (2). A negative value runs no publishers:
	// Tree.Publish then fails with publish.ErrStopped.
	Publishers int
	// Buffer is how many publishes may wait at once for a usable channel
	// (no broker up, or the broker blocked publishing); one more fails at
	// once with publish.ErrBufferFull. Defaults to publish.DefaultBuffer
	// (1000).
	Buffer int
	// MaxWait bounds how long a publish waits for a usable channel.
	// Defaults to publish.DefaultMaxWait (5s).
	MaxWait time.Duration
	// ConfirmTimeout bounds how long a confirmed publish waits for the
	// broker's ack when its ctx has no earlier deadline. Defaults to
	// publish.DefaultConfirmTimeout (30s).
	ConfirmTimeout time.Duration
	// MaxMessageSize is the largest body a publish may carry; set it to the
	// brokers' max_message_size. A larger publish fails at once with
	// publish.ErrTooLarge instead of closing a channel other callers publish
	// on. Defaults to publish.DefaultMaxMessageSize (RabbitMQ's 128 MiB).
	MaxMessageSize int
	// Zone is the zone whose brokers the publishers' channels come from.
	// Defaults to the local zone.
	Zone string
}

// Validate reports a negative buffer or duration.
func (c PublishConfig) Validate() error {
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
			return &ConfigError{Source: "config", Section: "publish", Key: f.key, Err: errors.New("must not be negative")}
		}
	}
	return nil
}

// Publish publishes body to exchange with routingKey through the tree's
// publishers. Without publish.Confirm it returns once the message is written
// to a channel; with it, once the broker acked it, and it fails with
// publish.ErrNacked, an *publish.ReturnedError (publish.Mandatory) or
// publish.ErrNotConfirmed (ctx ended, ConfirmTimeout passed; a channel
// closed by a channel error, its reason wrapped). A confirmed publish whose
// channel closes before the ack is written again, with the same MessageId
// and the header x-warren-resent: at least once. While the zone has no usable channel (no broker up,
// or the broker blocked publishing) the publish waits, bounded by
// PublishConfig.MaxWait and ctx, and fails at once with
// publish.ErrBufferFull when PublishConfig.Buffer publishes wait already.
// The content type defaults to application/json.
//
// What a caller learns, and what it costs the others:
//   - The first publish to an exchange on a connection checks that it
//     exists (a passive declare on the connection's control channel); a
//     missing one fails that publish with publish.ErrNoExchange and the
//     broker's reason, with or without Confirm, and closes no channel
//     others publish on.
//   - A body above PublishConfig.MaxMessageSize fails at once with
//     publish.ErrTooLarge.
//   - publish.Mandatory reports an unroutable message only with
//     publish.Confirm (*publish.ReturnedError); without it the broker's
//     return is counted in the publishers table but cannot reach the
//     caller, which has returned already.
//   - Every wait (for a channel, for a busy channel, for the confirm) ends
//     with ctx; a write that outlives ctx closes the connection's socket, so
//     that the call returns by its deadline (the publishers reconnect).
//
// Publishes spread over the pool's channels, and confirmed and
// fire-and-forget ones use different channels, so the broker may route two
// publishes in another order than they were made; publishes sharing an
// publish.OrderKey keep their order. Publish is safe for concurrent use:
// confirmed publishes from many goroutines are pipelined on each channel.
//
// Zones: a publish goes to the local zone's brokers, and waits (bounded
// as above) while none is up: it never spills to another zone by itself.
// publish.ToZone(name) sends it to another zone's brokers, through that
// zone's publisher; publish.AllZones() sends it once to every zone and
// returns the failures joined, each naming its zone.
func (t *Tree) Publish(ctx context.Context, exchange, routingKey string, body []byte, opts ...publish.Option) error {
	var zone string
	var all bool
	if len(opts) > 0 { // reading them costs an allocation: none for a bare publish
		zone, all = publish.Target(opts...)
	}
	if all {
		return t.publishAll(ctx, exchange, routingKey, body, opts)
	}
	set, err := t.publishersOf(zone)
	if err != nil {
		return err
	}
	return set.Publish(ctx, t.done, exchange, routingKey, body, opts...)
}

// PublishDeferred writes a confirmed publish and returns without waiting
// for the broker's confirm, which [publish.Pending.Wait] waits for: one
// goroutine keeps many publishes in flight (a window of Pending values) and
// gets the throughput of amqp091's deferred confirmations. Options and
// errors are Publish's, [publish.Confirm] implied; [publish.ToZone] picks
// the zone, [publish.AllZones] and [publish.Mandatory] are refused. The
// Pending keeps body, to write it again should its channel close before
// the ack: it must not be modified until Wait returned.
func (t *Tree) PublishDeferred(ctx context.Context, exchange, routingKey string, body []byte, opts ...publish.Option) (*publish.Pending, error) {
	var zone string
	if len(opts) > 0 {
		var all bool
		if zone, all = publish.Target(opts...); all {
			return nil, &publish.Error{Exchange: exchange, RoutingKey: routingKey,
				Err: errors.New("warren: PublishDeferred publishes to one zone: AllZones needs Publish")}
		}
	}
	set, err := t.publishersOf(zone)
	if err != nil {
		return nil, err
	}
	return set.PublishDeferred(ctx, t.done, exchange, routingKey, body, opts...)
}

// publishAll publishes to every zone at once.
func (t *Tree) publishAll(ctx context.Context, exchange, routingKey string, body []byte, opts []publish.Option) error {
	zones := append([]string{t.env.LocalZone}, t.remote...)
	errs := make([]error, len(zones))
	var wg sync.WaitGroup
	for i, z := range zones {
		wg.Go(func() {
			set, err := t.publishersOf(z)
			if err == nil {
				err = set.Publish(ctx, t.done, exchange, routingKey, body, opts...)
			}
			if err != nil {
				errs[i] = fmt.Errorf("zone %s: %w", z, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// publishersOf returns the publishers of zone ("" the local one).
func (t *Tree) publishersOf(zone string) (*publish.Pool, error) {
	select {
	case <-t.pubClosed: // Shutdown waits for the publishes in flight, takes no new one
		return nil, publish.ErrStopped
	default:
	}
	if zone == "" || zone == t.env.LocalZone {
		return t.publishers()
	}
	if p, ok := t.remotePub[zone]; ok {
		return p, nil
	}
	if !slices.Contains(t.remote, zone) {
		return nil, fmt.Errorf("warren: no zone %q (zones: %s)", zone, strings.Join(append([]string{t.env.LocalZone}, t.remote...), ", "))
	}
	return nil, publish.ErrStopped // the tree runs no publishers
}

// Publishers returns the tree's publishers, for code that publishes
// through them directly (their [publish.Pool.PublishReply] serves as
// an actors.ReplyPublisher).
func (t *Tree) Publishers() (*publish.Pool, error) { return t.publishers() }

func (t *Tree) publishers() (*publish.Pool, error) {
	if t.pub == nil { // PublishConfig.Publishers < 0
		return nil, publish.ErrStopped
	}
	return t.pub, nil
}

// publishPool builds the publishers pool of cfg; nil when cfg runs none.
func publishPool(cfg PublishConfig) (*publish.Pool, error) {
	if cfg.Publishers < 0 {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set, err := publish.NewPool(publish.PoolSpec{
		Size: cfg.Publishers, Buffer: cfg.Buffer,
		MaxWait: cfg.MaxWait, ConfirmTimeout: cfg.ConfirmTimeout, Zone: cfg.Zone, MaxMessageSize: cfg.MaxMessageSize,
	})
	if err != nil {
		return nil, fmt.Errorf("warren: publishers: %w", err)
	}
	return set, nil
}
