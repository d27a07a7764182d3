package testkit

import (
	"context"
	"sync"
)

// Groups holds the goroutines that call Wait until N of them wait, then
// lets those N go at once: handlers that finish together, as a burst of
// deliveries makes them. The zero value is not usable: set N.
type Groups struct {
	N int

	mu      sync.Mutex
	waiting int
	release chan struct{}
}

// Wait returns when the group the caller joined is full, or with ctx's
// error when ctx ends first.
func (g *Groups) Wait(ctx context.Context) error {
	g.mu.Lock()
	if g.release == nil {
		g.release = make(chan struct{})
	}
	gate := g.release
	if g.waiting++; g.waiting == g.N {
		g.waiting = 0
		close(g.release)
		g.release = make(chan struct{})
	}
	g.mu.Unlock()
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
