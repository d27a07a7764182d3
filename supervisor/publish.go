package supervisor

import (
	"context"
	"errors"

	"github.com/warrenmq/warren/actors/publish"
)

// Publish publishes body to exchange with routingKey through the tree's
// publishers. Without publish.Confirm it returns once the message is written
// to a channel; with it, once the broker acked it, and it fails with
// publish.ErrNacked, an *publish.ReturnedError (publish.Mandatory) or
// publish.ErrNotConfirmed (ctx ended, ConfirmTimeout passed; a channel
// closed by a channel error, its reason wrapped). A confirmed publish whose
// channel closes before the ack is written again, with the same MessageId
// and the header x-warren-resent: at least once. While the zone has no usable channel (no broker up,
// or the broker blocked publishing) the publish waits, bounded by
// Config.Publish.MaxWait and ctx, and fails at once with
// publish.ErrBufferFull when Config.Publish.Buffer publishes wait already.
// The content type defaults to application/json.
//
// What a caller learns, and what it costs the others:
//   - The first publish to an exchange on a connection checks that it
//     exists (a passive declare on the connection's control channel); a
//     missing one fails that publish with publish.ErrNoExchange and the
//     broker's reason, with or without Confirm, and closes no channel
//     others publish on.
//   - A body above Config.Publish.MaxMessageSize fails at once with
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
// zone's publisher; publish.ToZone(publish.AllZones) sends it once to
// every zone and returns the failures joined, each naming its zone.
//
// Pools: publish.ViaPool(name) publishes through the publishers pool name
// (one added with [Tree.AddPool], or a zone's own by its supervisor's
// name), on its channels: pinned to its broker or zone. An unknown pool
// fails at once with ErrNoPool, one being removed with ErrPoolRemoved.
func (t *Tree) Publish(ctx context.Context, exchange, routingKey string, body []byte, opts ...publish.Option) error {
	var zone, pool string
	if len(opts) > 0 { // reading them costs an allocation: none for a bare publish
		zone, pool = publish.Route(opts...)
	}
	if pool != "" {
		return t.publishVia(ctx, pool, zone, exchange, routingKey, body, opts)
	}
	if zone == allZones {
		if err := t.acceptPublish(); err != nil {
			return err
		}
		return errors.Join(t.pubs.each(func(_ int, _ string, p *publish.Pool) error {
			return p.Publish(ctx, exchange, routingKey, body, opts...)
		})...)
	}
	set, err := t.publishersOf(zone)
	if err != nil {
		return err
	}
	return set.Publish(ctx, exchange, routingKey, body, opts...)
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
	var zone, pool string
	if len(opts) > 0 {
		if zone, pool = publish.Route(opts...); pool != "" {
			return t.publishDeferredVia(ctx, pool, zone, exchange, routingKey, body, opts)
		}
		if zone == allZones {
			return nil, &publish.Error{Exchange: exchange, RoutingKey: routingKey,
				Err: errors.New("warren: PublishDeferred publishes to one zone: AllZones needs Publish")}
		}
	}
	set, err := t.publishersOf(zone)
	if err != nil {
		return nil, err
	}
	return set.PublishDeferred(ctx, exchange, routingKey, body, opts...)
}

// acceptPublish fails with publish.ErrStopped once Shutdown drained the
// listeners: it waits for the publishes in flight and takes no new one.
func (t *Tree) acceptPublish() error {
	select {
	case <-t.pubClosed:
		return publish.ErrStopped
	default:
		return nil
	}
}

// publishersOf returns the publishers of zone ("" the local one).
func (t *Tree) publishersOf(zone string) (*publish.Pool, error) {
	if err := t.acceptPublish(); err != nil {
		return nil, err
	}
	return t.pubs.of(zone)
}

// Publishers returns the tree's publishers, for code that publishes
// through them directly (their [publish.Pool.PublishReply] serves as
// an actors.ReplyPublisher).
func (t *Tree) Publishers() (*publish.Pool, error) { return t.publishers() }

func (t *Tree) publishers() (*publish.Pool, error) { return t.pubs.of("") }

// publishPool builds the publishers pool of cfg; nil when cfg runs none.
func publishPool(cfg publish.Config) (*publish.Pool, error) {
	if cfg.Publishers < 0 {
		return nil, nil
	}
	return publish.NewPool(cfg)
}

// stopPublishers ends the waits of every publish of the tree's pools
// (publish.Pool.Stop): the tree has stopped.
func (t *Tree) stopPublishers() {
	_, pools := t.pubs.all()
	for _, p := range pools {
		p.Stop()
	}
	if t.named != nil {
		for _, p := range t.named.publishPools() {
			p.pool.Stop()
		}
	}
}
