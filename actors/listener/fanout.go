package listener

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// outcome is what the runs of one target on a delivery came to.
type outcome struct {
	err      error
	panicked bool
	runs     int
}

// runTargets runs every target on del and returns once all have returned
// (Kazoo's gen_listener runs each responder in a process of its own and
// waits for them all before it acks). The first runs on this goroutine,
// which holds the delivery's worker slot; each other runs on a goroutine of
// its own when a worker slot is free, else on this one after the first, so
// a delivery never runs more handlers at once than Spec.Workers allows and
// never waits for a slot it would hold itself. Each target retries on its
// own (Spec.Retry); the outcome joins the failures, each named after its
// route, and panicked is set if any panicked.
func (s *listenerShared) runTargets(hctx context.Context, ts []target, del *Delivery, gen uint64) outcome {
	if len(ts) == 1 {
		return s.runTarget(hctx, ts[0], del, gen)
	}
	outs := make([]outcome, len(ts))
	var wg sync.WaitGroup
	var later []int
	for i := 1; i < len(ts); i++ {
		select {
		case s.slots <- struct{}{}:
			wg.Add(1)
			go func(i int, d *Delivery) {
				defer func() { <-s.slots; wg.Done() }()
				outs[i] = s.runTarget(hctx, ts[i], d, gen)
			}(i, del.clone())
		default:
			later = append(later, i)
		}
	}
	outs[0] = s.runTarget(hctx, ts[0], del, gen)
	for _, i := range later {
		outs[i] = s.runTarget(hctx, ts[i], del.clone(), gen)
	}
	wg.Wait()
	var o outcome
	var errs []error
	for i, r := range outs {
		o.runs = max(o.runs, r.runs)
		o.panicked = o.panicked || r.panicked
		if r.err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", ts[i].name, r.err))
		}
	}
	o.err = errors.Join(errs...)
	return o
}

// runTarget runs one target with its retries.
func (s *listenerShared) runTarget(hctx context.Context, t target, del *Delivery, gen uint64) outcome {
	err, panicked, runs := s.run(hctx, t.h, del, gen)
	return outcome{err: err, panicked: panicked, runs: runs}
}

// clone is a copy of d for another route of the same delivery: its own
// Attempt, the same settlement (one decision for all).
func (d *Delivery) clone() *Delivery {
	c := *d
	return &c
}
