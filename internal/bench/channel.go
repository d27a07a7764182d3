package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// acquisitions is how many channels the first figure of the channel
// scenario takes (and gives back) in one round.
const acquisitions = 200

// The channel scenario has two figures. The first is what the prechannel
// pool is for: a consumer that starts (or restarts after a reconnect)
// gets an open channel for a mailbox round trip instead of a channel open;
// each acquisition starts from a full pool (the wait for the refill is not
// timed). The second is what the pool cannot hide: acquired and released
// back to back, a consumer drains the pool, and each channel then costs an
// open, as Kazoo's does (a released channel is closed, never handed on: its
// qos, confirm mode and consumers are its last holder's).

// rawChannels times opening a channel (then closes it, untimed),
// acquisitions times, and then opens and closes channels back to back for
// the round's duration.
func rawChannels(ctx context.Context, e *env) ([]float64, error) {
	var total time.Duration
	for range acquisitions {
		began := time.Now()
		ch, err := e.raw.Channel()
		if err != nil {
			return nil, err
		}
		total += time.Since(began)
		_ = ch.Close()
	}
	perSec, _, err := rate(ctx, e.opts.Duration, func() error {
		ch, err := e.raw.Channel()
		if err != nil {
			return err
		}
		return ch.Close()
	}, func() error { return nil })
	if err != nil {
		return nil, err
	}
	return []float64{float64(total) / float64(time.Microsecond) / acquisitions, perSec}, ctx.Err()
}

// warrenChannels asks the assignments actor for a float channel from a
// full prechannel pool and times the request to its assignment,
// acquisitions times; then it asks and releases back to back for the
// round's duration.
func warrenChannels(ctx context.Context, e *env) ([]float64, error) {
	got := make(chan struct{}, 1)
	sys := e.tree.System()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actors.ChannelAssigned); ok {
			got <- struct{}{}
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	assignments := e.tree.PID(actors.AssignmentsName)
	acquire := func() error {
		sys.Root.Send(assignments, &actors.RequestChannel{Consumer: pid, App: "bench"})
		select {
		case <-got:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no channel assigned within 10s")
		}
	}
	release := func() { sys.Root.Send(assignments, &actors.ReleaseChannel{Consumer: pid}) }

	var total time.Duration
	for range acquisitions {
		if err := e.poolFull(ctx); err != nil {
			return nil, err
		}
		began := time.Now()
		if err := acquire(); err != nil {
			return nil, err
		}
		total += time.Since(began)
		release()
	}
	perSec, _, err := rate(ctx, e.opts.Duration, func() error {
		if err := acquire(); err != nil {
			return err
		}
		release()
		return nil
	}, func() error { return e.poolFull(ctx) }) // the refill is the side's own work
	if err != nil {
		return nil, err
	}
	return []float64{float64(total) / float64(time.Microsecond) / acquisitions, perSec}, ctx.Err()
}

// poolFull waits until every connection of the tree holds its target of
// prechannels, on the registry's watches.
func (e *env) poolFull(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := e.tree.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		for _, c := range s.Connections() {
			if c.State == registry.Connected && len(s.Prechannels(c.ID)) < c.Prechannels {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the prechannel pool to refill: %w", err)
	}
	return nil
}
