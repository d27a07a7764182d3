package registry

import (
	"context"
	"fmt"
	"strings"
)

// Wait blocks until cond returns true, returns an error, or ctx ends (then
// it returns ctx's error). cond reads the registry through the snapshot it
// is given; Wait runs it again on a fresh snapshot each time something it
// read there changed, and at no other time. A cond that reads nothing
// through s (only outside state) is never run again: use [Snapshot.WatchAll]
// or [Snapshot.Watch] then.
func (r *Registry) Wait(ctx context.Context, cond func(s *Snapshot) (bool, error)) error {
	for {
		s := r.watching()
		ok, err := cond(s)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := s.ws.WatchCtx(ctx); err != nil {
			return err
		}
	}
}

// Changed returns a channel that receives nil once any table (or an
// assignments row's Watchers count) changes after the call, or ctx's error
// when ctx ends first. It runs one goroutine until then: cancel ctx once
// the channel is no longer read.
func (r *Registry) Changed(ctx context.Context) <-chan error {
	s := r.watching()
	s.WatchAll()
	return s.ws.WatchCh(ctx)
}

// WaitAvailable waits until zone has an available broker and returns the
// zone's primary broker then.
func (r *Registry) WaitAvailable(ctx context.Context, zone string) (Connection, error) {
	var got Connection
	err := r.Wait(ctx, func(s *Snapshot) (bool, error) {
		var ok bool
		got, ok = s.Primary(zone)
		return ok, nil
	})
	if err != nil {
		return Connection{}, fmt.Errorf("warren: waiting for a broker of zone %q: %w", zone, err)
	}
	return got, nil
}

// WaitConnection waits until broker's row satisfies cond.
func (r *Registry) WaitConnection(ctx context.Context, broker string, cond func(Connection) bool) (Connection, error) {
	var got Connection
	err := r.Wait(ctx, func(s *Snapshot) (bool, error) {
		row, ok := s.Connection(broker)
		got = row
		return ok && cond(row), nil
	})
	if err != nil {
		return got, fmt.Errorf("warren: waiting on broker %s (last state %s, %q): %w", broker, got.State, got.LastError, err)
	}
	return got, nil
}

// WaitAssigned waits until consumer holds an assigned channel and returns
// its row. While it waits, the row's Watchers count includes the caller.
func (r *Registry) WaitAssigned(ctx context.Context, consumer string) (Assignment, error) {
	r.countWatcher(consumer, +1)
	defer r.countWatcher(consumer, -1)
	var got Assignment
	err := r.Wait(ctx, func(s *Snapshot) (bool, error) {
		row, ok := s.AssignmentOf(consumer)
		got = row
		return ok && row.State == Assigned, nil
	})
	if err != nil {
		return got, fmt.Errorf("warren: waiting for a channel for %s: %w", consumer, err)
	}
	return got, nil
}

// WaitReleased waits until no consumer holds a float channel on the
// connections ids (see HeldFloats). Its error names the holders left.
func (r *Registry) WaitReleased(ctx context.Context, ids ...string) error {
	var held []Assignment
	err := r.Wait(ctx, func(s *Snapshot) (bool, error) {
		held = s.HeldFloats(ids...)
		return len(held) == 0, nil
	})
	if err == nil {
		return nil
	}
	names := make([]string, 0, len(held))
	for i, a := range held {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(held)-i))
			break
		}
		names = append(names, fmt.Sprintf("%s (channel %s, %s)", a.Consumer, a.Channel, a.State))
	}
	return fmt.Errorf("warren: %d float channel(s) still held on %s: %s: %w", len(held), strings.Join(ids, ", "), strings.Join(names, "; "), err)
}
