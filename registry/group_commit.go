package registry

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-memdb"
)

// groupCommit lets the row writes of many actors share write
// transactions. A write transaction copies the radix path of every row it
// touches and wakes every watch on it at its commit; thousands of listeners
// changing state at once (a start, a broker's restart) each paid that
// alone, and it was a fifth of the tree's CPU at 10,000 listeners.
//
// A writer queues its change; if no batch is being committed, it leads:
// it takes the queue, applies every change in one transaction, commits and
// wakes their writers. Changes queued meanwhile wait for the next batch,
// led by the first of them (each leader commits one batch, so no actor's
// goroutine commits for others for long). Every writer returns once its
// change is committed, as with a transaction of its own: what it wrote is
// visible to the next read, and a row's successive states are still
// committed one by one (its writer waits for each).
//
// Only changes that touch nothing but the transaction take part (put, del,
// ActorsWriter.UpdateActor): when one fails, the batch is abandoned and
// each change is applied again in a transaction of its own, so that a
// failure costs only its writer's change.
type groupCommit struct {
	mu      sync.Mutex // guards queue and leading
	queue   []*change
	leading bool // a batch is being committed; the queue waits for the next
}

// change is one writer's change waiting in the queue.
type change struct {
	fn   func(*memdb.Txn) error
	err  error
	lead bool          // woken to lead the next batch, not because it is done
	done chan struct{} // one slot: the change is committed, or it leads
}

// testHookQueued, when set (by a test, before any write), runs each time a
// change is queued behind a batch being committed.
var testHookQueued func()

var changes = sync.Pool{New: func() any { return &change{done: make(chan struct{}, 1)} }}

// writeGrouped applies fn, which must touch nothing but the transaction,
// in a write transaction shared with the changes queued at the same time,
// and returns once that transaction is committed.
func (r *Registry) writeGrouped(fn func(*memdb.Txn) error) error {
	if r == nil {
		return errNoWriter
	}
	c := changes.Get().(*change)
	c.fn, c.err, c.lead = fn, nil, false
	g := &r.group
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.leading {
		g.mu.Unlock()
		if testHookQueued != nil {
			testHookQueued()
		}
		<-c.done
		if !c.lead {
			return c.release()
		}
		g.mu.Lock() // woken to lead: the queue holds c and those after it
	}
	g.leading = true
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()

	r.commitBatch(batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = true
		next.done <- struct{}{}
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return c.release()
}

// release returns c to the pool and its error.
func (c *change) release() error {
	err := c.err
	c.fn, c.err = nil, nil
	changes.Put(c)
	return err
}

// commitBatch applies batch in one transaction; if a change fails, each is
// applied in a transaction of its own instead. It wakes every writer of
// batch but the leader, the first (it is not waiting). A change that
// panics fails with an error instead: a panic here would leave the batch
// leaderless and every later write waiting.
func (r *Registry) commitBatch(batch []*change) {
	txn := r.db.Txn(true)
	failed := false
	for _, c := range batch {
		if c.err = apply(txn, c.fn); c.err != nil {
			failed = true
			break
		}
	}
	if failed {
		txn.Abort()
		for _, c := range batch {
			c.err = r.write(func(txn *memdb.Txn) error { return apply(txn, c.fn) })
		}
	} else {
		txn.Commit()
	}
	for _, c := range batch[1:] {
		c.done <- struct{}{}
	}
}

// apply runs fn in txn, turning a panic into an error.
func apply(txn *memdb.Txn, fn func(*memdb.Txn) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("warren: registry: a row write panicked: %v", p)
		}
	}()
	return fn(txn)
}
