package nodes

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Kazoo's timings (kz_nodes ?HEARTBEAT): an advertisement every
// DefaultPeriodMin plus up to DefaultPeriodJitter at random, each saying
// it expires after that period.
const (
	DefaultPeriodMin    = 5 * time.Second
	DefaultPeriodJitter = 10 * time.Second
)

// PublishFunc publishes an advertisement's body to the nodes exchange; the
// tree sets it to its publishers. It must return by ctx's deadline.
type PublishFunc func(ctx context.Context, body []byte) error

// Config declares the nodes actor.
type Config struct {
	// Node is this node's name (the Node header), unique in the
	// installation. Required.
	Node string
	// Zone is this node's zone (the Zone field). Required.
	Zone string
	// Version is the Version field and App-Version. Defaults to "(devel)".
	Version string
	// Period is the time between two advertisements and the Expires they
	// carry. Zero means Kazoo's DefaultPeriodMin plus up to
	// DefaultPeriodJitter, drawn again each time.
	Period time.Duration
	// Silent turns advertising off: the actor still records the others.
	Silent bool
	// Publish sends an advertisement. Required unless Silent.
	Publish PublishFunc
}

// Validate checks c.
func (c Config) Validate() error {
	switch {
	case c.Node == "":
		return errors.New("warren: nodes: Node is required")
	case c.Zone == "":
		return errors.New("warren: nodes: Zone is required")
	case c.Period < 0:
		return errors.New("warren: nodes: Period must not be negative")
	case !c.Silent && c.Publish == nil:
		return errors.New("warren: nodes: Publish is required unless Silent")
	}
	return nil
}

// period returns the time to the next advertisement.
func (c Config) period() time.Duration {
	if c.Period > 0 {
		return c.Period
	}
	return DefaultPeriodMin + rand.N(DefaultPeriodJitter)
}
