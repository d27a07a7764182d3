package supervisor

import (
	"context"
	"fmt"
	"sync"
)

// poolGate counts the publishes and calls in flight through a pool added
// at run time, so that RemovePool takes no new one and waits for those in
// flight, as http.Server.Shutdown does. It is safe for concurrent use.
type poolGate struct {
	mu     sync.Mutex // guards the fields below
	n      int        // publishes and calls in flight
	closed bool       // no new one enters
	idle   chan struct{}
}

// enter counts one more in flight; false once the gate is closed.
func (g *poolGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// leave counts one less in flight.
func (g *poolGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// close lets no new one enter and waits until none is in flight, or ctx
// ends (its error names how many are left).
func (g *poolGate) close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		n := g.n
		g.mu.Unlock()
		return fmt.Errorf("%d publishes or calls still in flight: %w", n, ctx.Err())
	}
}
