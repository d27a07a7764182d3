package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// latencies runs one, one call at a time, until d passes, and returns the
// p50 and p99 of its durations in µs.
func latencies(ctx context.Context, d time.Duration, one func() error) ([]float64, error) {
	var lat []time.Duration
	for start := time.Now(); time.Since(start) < d && ctx.Err() == nil; {
		began := time.Now()
		if err := one(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(began))
	}
	return percentiles(lat), ctx.Err()
}

// perSecond runs n goroutines until d passes, each calling the one its
// worker returns (worker sets a goroutine up; release, if not nil, ends
// it), and returns the successful calls per second and their number. The
// first error ends the round.
func perSecond(ctx context.Context, d time.Duration, n int, worker func() (one func() error, release func(), err error)) (float64, int, error) {
	var calls atomic.Int64
	var first atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			one, release, err := worker()
			if release != nil {
				defer release()
			}
			for err == nil && time.Since(start) < d && ctx.Err() == nil {
				if err = one(); err == nil {
					calls.Add(1)
				}
			}
			if err != nil {
				first.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return 0, 0, *err
	}
	return float64(calls.Load()) / time.Since(start).Seconds(), int(calls.Load()), ctx.Err()
}

// counted is the figures of a side of a cpu scenario: its rate, then the
// number of messages it sent, which runRound divides the side's CPU time
// by (and takes off the figures).
func counted(perSec float64, n int, err error) ([]float64, error) {
	if err != nil {
		return nil, err
	}
	return []float64{perSec, float64(n)}, nil
}

// rated is the figures of a side whose only figure is its rate.
func rated(perSec float64, _ int, err error) ([]float64, error) {
	if err != nil {
		return nil, err
	}
	return []float64{perSec}, nil
}
