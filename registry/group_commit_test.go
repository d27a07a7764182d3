package registry

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
)

// Writers racing each other each find their row committed when their write
// returns, and every row is there at the end.
func TestGroupCommit_ConcurrentWritersReadTheirOwnWrites(t *testing.T) {
	r, w := New()
	const writers, rows = 32, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range rows {
				path := fmt.Sprintf("warren/listeners/l-%d-%d", i, j)
				if err := w.Listeners.PutListener(Listener{Path: path, State: ListenerConsuming}); err != nil {
					errs <- err
					return
				}
				if _, ok := r.Listener(path); !ok {
					errs <- fmt.Errorf("row %s not visible once PutListener returned", path)
					return
				}
				if j%2 == 1 {
					if err := w.Listeners.DeleteListener(path); err != nil {
						errs <- err
						return
					}
					if _, ok := r.Listener(path); ok {
						errs <- fmt.Errorf("row %s still visible once DeleteListener returned", path)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(r.Listeners()); n != writers*rows/2 {
		t.Fatalf("%d rows at the end; want %d", n, writers*rows/2)
	}
}

// A change that fails inside a shared transaction costs only its writer:
// the batch is applied again change by change, and the others are
// committed.
func TestGroupCommit_AFailingChangeCostsOnlyItself(t *testing.T) {
	r, _ := New()
	ok := func(path string) *change {
		return &change{fn: func(txn *memdb.Txn) error { return insert(txn, tableListeners, &Listener{Path: path}) }, done: make(chan struct{}, 1)}
	}
	bad := &change{fn: func(txn *memdb.Txn) error { return insert(txn, "no-such-table", &Listener{Path: "x"}) }, done: make(chan struct{}, 1)}
	panics := &change{fn: func(*memdb.Txn) error { panic("a broken change") }, done: make(chan struct{}, 1)}
	batch := []*change{ok("warren/listeners/a"), bad, ok("warren/listeners/b"), panics}
	r.commitBatch(batch)
	if batch[0].err != nil || batch[2].err != nil {
		t.Fatalf("the good changes failed: %v, %v", batch[0].err, batch[2].err)
	}
	if bad.err == nil || !strings.Contains(bad.err.Error(), "no-such-table") {
		t.Fatalf("the bad change's error = %v; want one naming its table", bad.err)
	}
	if panics.err == nil || !strings.Contains(panics.err.Error(), "a broken change") {
		t.Fatalf("the panicking change's error = %v; want one naming its panic", panics.err)
	}
	for _, path := range []string{"warren/listeners/a", "warren/listeners/b"} {
		if _, found := r.Listener(path); !found {
			t.Fatalf("row %s not committed", path)
		}
	}
	for i, c := range batch[1:] { // every writer but the leader is woken
		select {
		case <-c.done:
		default:
			t.Fatalf("writer %d of the batch not woken", i+1)
		}
	}
}

// A writer that finds a batch being committed waits for the next one, led
// by the first writer queued: the queue empties and every write returns.
func TestGroupCommit_QueuedWritersLeadTheNextBatch(t *testing.T) {
	r, w := New()
	const n = 8
	queued := make(chan struct{}, n)
	testHookQueued = func() { queued <- struct{}{} }
	defer func() { testHookQueued = nil }()

	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the leader: its change holds the batch open until released
		defer wg.Done()
		err := r.writeGrouped(func(txn *memdb.Txn) error {
			close(inside)
			<-release
			return insert(txn, tableListeners, &Listener{Path: "warren/listeners/leader"})
		})
		if err != nil {
			t.Error(err)
		}
	}()
	deadline := time.After(10 * time.Second)
	select {
	case <-inside:
	case <-deadline:
		t.Fatal("the leader's change never ran")
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Listeners.PutListener(Listener{Path: fmt.Sprintf("warren/listeners/q-%d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	for i := range n {
		select {
		case <-queued:
		case <-deadline:
			t.Fatalf("%d of %d writers queued behind the batch", i, n)
		}
	}
	close(release)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-deadline:
		t.Fatal("the queued writers did not all return: the next batch was not led")
	}
	if got := len(r.Listeners()); got != n+1 {
		t.Fatalf("%d rows; want %d", got, n+1)
	}
	g := &r.group
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.leading || len(g.queue) != 0 {
		t.Fatalf("after the batches: leading %v, %d queued; want none", g.leading, len(g.queue))
	}
}
