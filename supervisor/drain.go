package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/registry"
)

// DefaultDrainTimeout is how long Shutdown and StopListener let running
// handlers finish by default: well inside Kubernetes' default grace period
// of 30 s (the SIGKILL that follows it would cut everything), long enough
// for handlers doing a few calls of their own.
const DefaultDrainTimeout = 10 * time.Second

// shutdownReserve bounds the part of a Shutdown ctx's time kept for what
// follows the drain (stopping the actors, closing the connections).
const shutdownReserve = 2 * time.Second

// ErrDrainCut is wrapped by the error of Shutdown and StopListener when the
// drain ran out of time: handlers were cancelled at the drain deadline
// (their messages went back to their queue) or were still running when
// the ctx ended. Nothing was lost; some work will be done again.
var ErrDrainCut = listener.ErrDrainCut

// drainTimeout is the configured drain timeout, default filled in.
func (t *Tree) drainTimeout() time.Duration {
	if t.drainFor > 0 {
		return t.drainFor
	}
	return DefaultDrainTimeout
}

// handlerDeadline is when a drain within ctx cancels the handlers still
// running: the drain timeout from now, or earlier when ctx ends sooner (a
// quarter of its time left, at most shutdownReserve, is kept for the rest).
func (t *Tree) handlerDeadline(ctx context.Context) time.Time {
	dl := time.Now().Add(t.drainTimeout())
	if cd, ok := ctx.Deadline(); ok {
		left := time.Until(cd)
		if c := cd.Add(-min(left/4, shutdownReserve)); c.Before(dl) {
			dl = c
		}
	}
	return dl
}

// drainListeners drains every listener of rows, at once,
// and waits for them within ctx (and, when ctx has no deadline, for one
// more drain timeout after the handlers were cut). It logs what the drains
// did and returns an error wrapping ErrDrainCut that names what was cut.
func (t *Tree) drainListeners(ctx context.Context, rows []registry.Listener) error {
	deadline := t.handlerDeadline(ctx)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(t.drainTimeout()))
		defer cancel()
	}
	type result struct {
		row registry.Listener
		d   *listener.Drained
		err error
	}
	results := make(chan result, len(rows))
	for _, row := range rows {
		go func() {
			res, err := t.request(ctx, t.env.System.NewLocalPID(row.Path), &listener.Drain{Deadline: deadline})
			r := result{row: row, err: err}
			if d, ok := res.(*listener.Drained); ok {
				r.d = d
			}
			results <- r
		}()
	}
	var requeued, finished, cut int
	var cuts []string
	for range rows {
		r := <-results
		switch {
		case errors.Is(r.err, actor.ErrDeadLetter):
			// It stopped meanwhile (restarted, removed): nothing to drain.
		case r.err != nil:
			row, _ := t.env.Registry.Listener(r.row.Path)
			cuts = append(cuts, fmt.Sprintf("listener %s still draining (%d handlers running): %v", r.row.Name, row.InFlight, r.err))
		case r.d != nil:
			requeued, finished, cut = requeued+r.d.Requeued, finished+r.d.Finished, cut+r.d.Cut
			if r.d.Cut > 0 {
				cuts = append(cuts, fmt.Sprintf("listener %s: %d handlers cancelled at the drain deadline, their messages requeued", r.row.Name, r.d.Cut))
			}
		}
	}
	if len(rows) > 0 {
		t.env.Log.Info("listeners drained", "listeners", len(rows), "requeued", requeued, "finished", finished, "cut", cut)
	}
	if len(cuts) > 0 {
		return fmt.Errorf("%w: %s", ErrDrainCut, strings.Join(cuts, "; "))
	}
	return nil
}

// listenerAndFederators returns the row of the listener name of the tree's
// listeners supervisor (not a federator, not one the application spawned
// elsewhere), if it has one, and its federators' rows: read by key and
// index, so that stopping each of N listeners in turn does not read N rows
// each time.
func (t *Tree) listenerAndFederators(name string) []registry.Listener {
	snap := t.env.Registry.Snapshot()
	rows := snap.Federators(name)
	if row, ok := snap.Listener(actors.RootName + "/" + actors.ListenersName + "/" + name); ok && row.Parent == "" {
		rows = append(rows, row)
	}
	return rows
}

// drain is the first step of Shutdown: every listener of the tree drained
// (federators included), then the publishes in flight flushed: their
// confirms come in (or they are resent) before the channels close, by the
// same deadline as the handlers (at once, if it passed already); a publish
// made from then on fails with publish.ErrStopped.
func (t *Tree) drain(ctx context.Context) error {
	deadline := t.handlerDeadline(ctx)
	err := t.drainListeners(ctx, t.env.Registry.Listeners())
	close(t.pubClosed) // like http.Server.Shutdown: no new publish, those in flight finish
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var pending []string
	for _, p := range t.publishPools() {
		if werr := p.pool.WaitIdle(wctx); werr != nil {
			pending = append(pending, p.name+": "+werr.Error())
		}
	}
	if len(pending) > 0 {
		err = errors.Join(err, fmt.Errorf("%w: publishes still in flight: %s", ErrDrainCut, strings.Join(pending, "; ")))
	}
	return err
}

// namedPool is a publishers pool and its supervisor's name.
type namedPool struct {
	name string
	pool *publish.Pool
}

// publishPools lists the tree's publishers pools: the local zone's, then
// one per other zone, then those added at run time.
func (t *Tree) publishPools() []namedPool {
	var out []namedPool
	names, pools := t.pubs.all()
	for i, p := range pools {
		out = append(out, namedPool{names[i], p})
	}
	if t.named != nil { // and those added at run time
		out = append(out, t.named.publishPools()...)
	}
	return out
}
