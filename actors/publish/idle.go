package publish

import (
	"context"
	"fmt"
)

// begin counts a publish in progress (see WaitIdle).
func (p *Pool) begin() { p.busy.Add(1) }

// end counts a publish finished and wakes the WaitIdle calls once none is
// in progress. Without a WaitIdle waiting it costs two atomics.
func (p *Pool) end() {
	if p.busy.Add(-1) != 0 || p.idleWaiters.Load() == 0 {
		return
	}
	p.idleMu.Lock()
	if p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
	p.idleMu.Unlock()
}

// WaitIdle returns nil once no publish of the pool is in progress: none
// waiting for a channel, being written, or waiting for its confirm (resends
// included; a [Pending] counts until its Wait returned). It fails with
// ctx's error, naming how many are still in progress, when ctx ends first.
// Publishes that start meanwhile are waited for too: the tree calls it
// during Shutdown, before it stops the publishers, so that the confirms in
// flight come in rather than fail with their channels.
func (p *Pool) WaitIdle(ctx context.Context) error {
	p.idleWaiters.Add(1) // before the check: an end after it sees the waiter
	defer p.idleWaiters.Add(-1)
	for {
		p.idleMu.Lock()
		if p.busy.Load() == 0 {
			p.idleMu.Unlock()
			return nil
		}
		if p.idle == nil {
			p.idle = make(chan struct{})
		}
		idle := p.idle
		p.idleMu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("warren: publishers: %d publishes still in progress: %w", p.busy.Load(), ctx.Err())
		}
	}
}
