package listener

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testDedup(window time.Duration, entries int) (*dedup, *clock) {
	c := &clock{now: time.Unix(1_000_000, 0)}
	d := newDedup(DedupSpec{Window: window, Entries: entries})
	d.now = c.Now
	return d, c
}

func mustClaim(t *testing.T, d *dedup, key string) *dedupClaim {
	t.Helper()
	c, dup, err := d.begin(context.Background(), key)
	if err != nil || dup || c == nil {
		t.Fatalf("begin %s: claim %v, dup %v, err %v; want a claim", key, c, dup, err)
	}
	return c
}

func mustDup(t *testing.T, d *dedup, key string) {
	t.Helper()
	c, dup, err := d.begin(context.Background(), key)
	if err != nil || !dup || c != nil {
		t.Fatalf("begin %s: claim %v, dup %v, err %v; want a duplicate", key, c, dup, err)
	}
}

func TestDedup_OffWithoutAWindow(t *testing.T) {
	if d := newDedup(DedupSpec{Entries: 5}); d != nil {
		t.Fatal("dedup on without a window")
	}
}

// A key handled successfully is a duplicate within the window, and not
// after it; a failure is forgotten at once.
func TestDedup_SuccessWithinTheWindowOnly(t *testing.T) {
	d, c := testDedup(time.Minute, 100)
	mustClaim(t, d, "a").finish(true)
	mustDup(t, d, "a")
	c.Add(59 * time.Second)
	mustDup(t, d, "a")
	c.Add(time.Second)
	mustClaim(t, d, "a").finish(false)
	mustClaim(t, d, "a").finish(true) // the failure left nothing behind
	mustDup(t, d, "a")
	mustClaim(t, d, "b").finish(true)
	if n := d.len(); n != 2 {
		t.Fatalf("%d keys remembered, want 2", n)
	}
	c.Add(2 * time.Minute)
	mustClaim(t, d, "c") // expiry runs on the next begin
	if n := d.len(); n != 1 {
		t.Fatalf("%d keys remembered after the window, want 1 (c)", n)
	}
}

// The window counts from the success, not from the start: a key handled
// for longer than the window is still a duplicate right after.
func TestDedup_WindowCountsFromTheSuccess(t *testing.T) {
	d, c := testDedup(time.Minute, 100)
	long := mustClaim(t, d, "slow")
	c.Add(5 * time.Minute)
	long.finish(true)
	mustDup(t, d, "slow")
}

// An expired success behind a key still being handled (so not expired by
// the walk from the oldest) is not a duplicate.
func TestDedup_ExpiredBehindARunningKey(t *testing.T) {
	d, c := testDedup(time.Minute, 100)
	running := mustClaim(t, d, "running")
	mustClaim(t, d, "done").finish(true)
	c.Add(2 * time.Minute)
	mustClaim(t, d, "done").finish(true)
	running.finish(true)
}

// Entries bounds the memory: the oldest key goes first.
func TestDedup_EvictsTheOldest(t *testing.T) {
	d, _ := testDedup(time.Hour, 3)
	for _, k := range []string{"a", "b", "c", "d"} {
		mustClaim(t, d, k).finish(true)
	}
	if n := d.len(); n != 3 {
		t.Fatalf("%d keys, want 3", n)
	}
	mustDup(t, d, "b")
	mustDup(t, d, "d")
	mustClaim(t, d, "a").finish(true) // evicted: handled again (evicting b)
	mustClaim(t, d, "b").finish(true)
}

// A key evicted while it is being handled: its finish neither resurrects
// it nor removes a newer claim of the same key.
func TestDedup_EvictedWhileRunning(t *testing.T) {
	d, _ := testDedup(time.Hour, 1)
	first := mustClaim(t, d, "k")
	other := mustClaim(t, d, "x") // evicts k's entry
	second := mustClaim(t, d, "k")
	first.finish(false) // must not remove second's entry
	other.finish(true)
	second.finish(true)
	mustDup(t, d, "k")
	if n := d.len(); n != 1 {
		t.Fatalf("%d keys, want 1", n)
	}
}

// Duplicates arriving while the first runs wait for its outcome: all are
// duplicates if it succeeds; if it fails, exactly one of them runs next.
func TestDedup_ConcurrentDuplicatesWaitForTheFirst(t *testing.T) {
	for _, firstOK := range []bool{true, false} {
		t.Run(fmt.Sprintf("first ok=%v", firstOK), func(t *testing.T) {
			const waiters = 32
			d, _ := testDedup(time.Hour, 100)
			waiting := make(chan struct{}, 2*waiters)
			d.onWait = func() { waiting <- struct{}{} }
			first := mustClaim(t, d, "k")
			var claims, dups atomic.Int32
			var wg sync.WaitGroup
			for range waiters {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, dup, err := d.begin(context.Background(), "k")
					switch {
					case err != nil:
						t.Error(err)
					case dup:
						dups.Add(1)
					default:
						claims.Add(1)
						c.finish(true) // the second run succeeds: the rest are duplicates
					}
				}()
			}
			for i := range waiters { // every one waits for the first
				select {
				case <-waiting:
				case <-time.After(5 * time.Second):
					t.Fatalf("%d of %d duplicates waiting", i, waiters)
				}
			}
			first.finish(firstOK)
			wg.Wait()
			wantClaims := int32(0)
			if !firstOK {
				wantClaims = 1
			}
			if claims.Load() != wantClaims || dups.Load() != waiters-wantClaims {
				t.Fatalf("%d ran, %d duplicates; want %d ran", claims.Load(), dups.Load(), wantClaims)
			}
		})
	}
}

// Many keys from many goroutines, with evictions: under -race, no claim is
// lost and the memory stays within its bound.
func TestDedup_ConcurrentKeysStayBounded(t *testing.T) {
	d, c := testDedup(time.Second, 50)
	var wg sync.WaitGroup
	var handled atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				key := fmt.Sprintf("k%d", (g*131+i)%200)
				cl, dup, err := d.begin(context.Background(), key)
				if err != nil {
					t.Error(err)
					return
				}
				if !dup {
					handled.Add(1)
					cl.finish(i%7 != 0)
				}
				if i%100 == 0 {
					c.Add(300 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if n := d.len(); n > 50 {
		t.Fatalf("%d keys remembered, bound 50", n)
	}
	if handled.Load() < 200 {
		t.Fatalf("only %d handled of 200 keys", handled.Load())
	}
}

// A duplicate waiting for the first gives up when its ctx ends.
func TestDedup_WaitEndsWithTheCtx(t *testing.T) {
	d, _ := testDedup(time.Hour, 10)
	first := mustClaim(t, d, "k")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := d.begin(ctx, "k")
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end with its ctx")
	}
	first.finish(true)
}
