package publish

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The writer token of a lane's channel: one holder at a time among many
// goroutines waiting (the race detector sees the counter it guards), no
// waiter left asleep once the token is free, and a waiter gives up when
// its ctx ends or its pool stops.
func TestLaneChannel_WriterTokenExcludesWakesAndGivesUp(t *testing.T) {
	stop := make(chan struct{})
	c := &laneChannel{wake: make(chan struct{}, 1), stop: stop}
	const goroutines, each = 16, 500
	held := 0 // written only by the token's holder
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if err := c.lock(context.Background()); err != nil {
					t.Error(err)
					return
				}
				held++
				c.unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a waiter was never woken")
	}
	if held != goroutines*each {
		t.Fatalf("%d writes counted, want %d", held, goroutines*each)
	}

	if !c.tryLock() || c.tryLock() {
		t.Fatal("tryLock: a free token not taken, or a held one taken again")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock past its deadline = %v", err)
	}
	waiting := make(chan error, 1)
	go func() { waiting <- c.lock(context.Background()) }() // no deadline: only the stop ends it
	close(stop)                                             // as Pool.Stop does
	if err := <-waiting; !errors.Is(err, ErrStopped) {
		t.Fatalf("lock waiting when the pool stopped = %v", err)
	}
	if err := c.lock(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("lock after stop = %v", err)
	}
	if n := c.waiting.Load(); n != 0 {
		t.Fatalf("%d waiters still counted after they gave up", n)
	}
	c.unlock() // a token left by the unlock for nobody costs the next waiter one more try
	if err := c.lock(context.Background()); err != nil {
		t.Fatal(err)
	}
}
