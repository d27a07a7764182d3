package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/extensions"
	"github.com/warrenmq/warren/actors"
)

// PublishConfig sizes the publishers pool behind [Tree.Publish]: Publishers
// actors ("warren/publishers/publishers-N"), each holding one channel of the
// zone in confirm mode for confirmed publishes and, through its child
// "plain", one without confirms for fire-and-forget publishes. Zero fields
// take the defaults.
type PublishConfig struct {
	// Publishers is the number of publisher actors. Defaults to
	// actors.DefaultPublishers (2). A negative value runs no publishers:
	// Tree.Publish then fails with actors.ErrPublishersStopped.
	Publishers int
	// Buffer is how many publishes may wait at once for a usable channel
	// (no broker up, or the broker blocked publishing); one more fails at
	// once with actors.ErrBufferFull. Defaults to actors.DefaultPublishBuffer
	// (1000).
	Buffer int
	// MaxWait bounds how long a publish waits for a usable channel.
	// Defaults to actors.DefaultPublishMaxWait (5s).
	MaxWait time.Duration
	// ConfirmTimeout bounds how long a confirmed publish waits for the
	// broker's ack when its ctx has no earlier deadline. Defaults to
	// actors.DefaultConfirmTimeout (30s).
	ConfirmTimeout time.Duration
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
	} {
		if f.bad {
			return &ConfigError{Source: "config", Section: "publish", Key: f.key, Err: errors.New("must not be negative")}
		}
	}
	return nil
}

// Publish publishes body to exchange with routingKey through the tree's
// publishers. Without actors.Confirm it returns once the message is written
// to a channel; with it, once the broker acked it, and it fails with
// actors.ErrNacked, an *actors.ReturnedError (actors.Mandatory) or
// actors.ErrNotConfirmed (channel lost before the ack, its close reason
// wrapped; ctx ended). While the zone has no usable channel (no broker up,
// or the broker blocked publishing) the publish waits, bounded by
// PublishConfig.MaxWait and ctx, and fails at once with
// actors.ErrBufferFull when PublishConfig.Buffer publishes wait already.
// The content type defaults to application/json.
//
// Publishes spread over the pool's channels, and confirmed and
// fire-and-forget ones use different channels, so the broker may route two
// publishes in another order than they were made; publishes sharing an
// actors.OrderKey keep their order. Publish is safe for concurrent use:
// confirmed publishes from many goroutines are pipelined on each channel.
func (t *Tree) Publish(ctx context.Context, exchange, routingKey string, body []byte, opts ...actors.PublishOption) error {
	set, err := t.publishers()
	if err != nil {
		return err
	}
	return set.Publish(ctx, t.done, exchange, routingKey, body, opts...)
}

// Publishers returns the tree's publishers, for code that publishes
// through them directly (their [actors.Publishers.PublishReply] serves as
// an actors.ReplyPublisher).
func (t *Tree) Publishers() (*actors.Publishers, error) { return t.publishers() }

func (t *Tree) publishers() (*actors.Publishers, error) {
	ext, _ := t.env.System.Extensions.Get(publishersExtID).(*publishersExt)
	if ext == nil || ext.env != t.env {
		return nil, actors.ErrPublishersStopped
	}
	if ext.err != nil {
		return nil, ext.err
	}
	if ext.set == nil { // PublishConfig.Publishers < 0
		return nil, actors.ErrPublishersStopped
	}
	return ext.set, nil
}

// publishersExt keeps a tree's publishers with its actor system, where
// Tree.Publish finds them: the pool is built by a pool factory, before the
// Tree handle has a place for it.
type publishersExt struct {
	env *actors.Env
	set *actors.Publishers
	err error // a bad PublishConfig, returned by every publish
}

var publishersExtID = extensions.NextExtensionID()

func (*publishersExt) ExtensionID() extensions.ExtensionID { return publishersExtID }

func init() { poolFactories = append(poolFactories, publishersPool) }

// publishersPool builds the publishers pool of cfg and registers it with the
// actor system; it also makes it the tree's reply publisher for listeners.
func publishersPool(env *actors.Env, cfg Config) (Pool, bool) {
	ext := &publishersExt{env: env}
	defer env.System.Extensions.Register(ext)
	if cfg.Publish.Publishers < 0 {
		return Pool{}, false
	}
	if err := cfg.Publish.Validate(); err != nil {
		ext.err = err
		env.Log.Error("publishers not started", "err", err)
		return Pool{}, false
	}
	set, err := actors.NewPublishers(actors.PublishersSpec{
		Size: cfg.Publish.Publishers, Buffer: cfg.Publish.Buffer,
		MaxWait: cfg.Publish.MaxWait, ConfirmTimeout: cfg.Publish.ConfirmTimeout, Zone: cfg.Publish.Zone,
	})
	if err != nil {
		ext.err = fmt.Errorf("warren: publishers: %w", err)
		return Pool{}, false
	}
	ext.set = set
	if env.Replies == nil {
		env.Replies = set
	}
	return Pool{Name: actors.PublishersName, Size: set.Spec().Size, Props: func(i int) *actor.Props { return set.Props(env, i) }}, true
}
