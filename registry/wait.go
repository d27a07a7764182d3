package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"
)

// WaitFor blocks until match returns true for a snapshot of the registry, or
// ctx ends. The query must read through txn so that its watch channels are
// added to ws; WaitFor re-runs it after every wakeup.
func (r *Registry) WaitFor(ctx context.Context, query func(txn *memdb.Txn, ws memdb.WatchSet) (bool, error)) error {
	for {
		ws := memdb.NewWatchSet()
		ok, err := query(r.db.Txn(false), ws)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return err
		}
	}
}

// waitRow waits until the first row of table matching index and args
// exists and satisfies cond, and returns it (or the last row seen).
func waitRow[T any](ctx context.Context, r *Registry, table, index string, cond func(T) bool, args ...any) (T, error) {
	var got T
	err := r.WaitFor(ctx, func(txn *memdb.Txn, ws memdb.WatchSet) (bool, error) {
		ch, raw, err := txn.FirstWatch(table, index, args...)
		if err != nil {
			return false, err
		}
		ws.Add(ch)
		if raw == nil {
			return false, nil
		}
		got = *raw.(*T)
		return cond(got), nil
	})
	return got, err
}

// WaitAvailable waits until zone has an available broker and returns the
// zone's primary broker then.
func (r *Registry) WaitAvailable(ctx context.Context, zone string) (Connection, error) {
	got, err := waitRow(ctx, r, TableConnections, "zone_available", func(Connection) bool { return true }, zone, string(Consume), true)
	if err != nil {
		return Connection{}, fmt.Errorf("warren: waiting for a broker of zone %q: %w", zone, err)
	}
	return got, nil
}

// WaitConnection waits until broker's row satisfies cond.
func (r *Registry) WaitConnection(ctx context.Context, broker string, cond func(Connection) bool) (Connection, error) {
	got, err := waitRow(ctx, r, TableConnections, "id", cond, broker)
	if err != nil {
		return got, fmt.Errorf("warren: waiting on broker %s (last state %s, %q): %w", broker, got.State, got.LastError, err)
	}
	return got, nil
}

// WaitAssigned waits until consumer holds an assigned channel and returns
// its row. While it waits, the row's Watchers count includes the caller.
func (r *Registry) WaitAssigned(ctx context.Context, consumer string) (Assignment, error) {
	r.mu.Lock()
	r.watchers[consumer]++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.watchers[consumer]--; r.watchers[consumer] <= 0 {
			delete(r.watchers, consumer)
		}
		r.mu.Unlock()
	}()
	got, err := waitRow(ctx, r, TableAssignments, "id", func(a Assignment) bool { return a.State == Assigned }, consumer)
	if err != nil {
		return got, fmt.Errorf("warren: waiting for a channel for %s: %w", consumer, err)
	}
	return got, nil
}

// WaitReleased waits until no consumer holds a float channel on the
// connections ids (see HeldFloats). Its error names the holders left.
func (r *Registry) WaitReleased(ctx context.Context, ids ...string) error {
	var held []Assignment
	err := r.WaitFor(ctx, func(txn *memdb.Txn, ws memdb.WatchSet) (bool, error) {
		var err error
		held, err = heldFloats(txn, ws, ids)
		return len(held) == 0, err
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
