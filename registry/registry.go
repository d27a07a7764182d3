package registry

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-memdb"
)

// Registry is Warren's in-memory database, read side: typed reads of every
// table ([Registry.Connections], [Registry.Snapshot]…) and waits on their
// changes ([Registry.Wait]). Writing takes one of the [Writers] that [New]
// returned beside it. It is safe for concurrent use by multiple goroutines:
// reads are lock-free snapshots, writes are serialised by go-memdb's
// writer lock.
type Registry struct {
	db    *memdb.MemDB
	group groupCommit // the row writes' shared transactions (writeGrouped)

	mu       sync.Mutex     // guards watchers and watched
	watchers map[string]int // consumer -> callers blocked in WaitAssigned
	watched  chan struct{}  // closed (and replaced) when watchers changes
}

// New returns an empty registry and the writers of its tables, one per
// table. Whoever builds the tree keeps the writers and hands each to the
// table's owner (see the package doc); nothing else can write.
func New() (*Registry, *Writers) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		// The schema is a compile-time constant; a failure is a programming error.
		panic(fmt.Sprintf("warren: registry schema: %v", err))
	}
	r := &Registry{db: db, watchers: map[string]int{}, watched: make(chan struct{})}
	return r, &Writers{
		Connections: ConnectionsWriter{r},
		Assignments: AssignmentsWriter{r},
		Actors:      ActorsWriter{r},
		Listeners:   ListenersWriter{r},
		Publishers:  PublishersWriter{r},
		Workers:     WorkersWriter{r},
		Nodes:       NodesWriter{r},
		Topology:    TopologyWriter{r},
	}
}

// Snapshot returns a consistent read of every table at this instant: what
// a caller reads through it never mixes two commits.
func (r *Registry) Snapshot() *Snapshot { return &Snapshot{r: r, txn: r.db.Txn(false)} }

// watching returns a snapshot that adds the watch channel of everything
// read through it to a fresh watch set.
func (r *Registry) watching() *Snapshot {
	s := r.Snapshot()
	s.ws = memdb.NewWatchSet()
	return s
}

// countWatcher adds d to the callers waiting for consumer's channel and
// wakes the waits that read the assignments table.
func (r *Registry) countWatcher(consumer string, d int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.watchers[consumer] += d; r.watchers[consumer] <= 0 {
		delete(r.watchers, consumer)
	}
	close(r.watched)
	r.watched = make(chan struct{})
}

// watchersOf returns the current counts (a copy) and the channel closed at
// their next change.
func (r *Registry) watchersOf() (map[string]int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.watchers) == 0 {
		return nil, r.watched
	}
	out := make(map[string]int, len(r.watchers))
	for k, v := range r.watchers {
		out[k] = v
	}
	return out, r.watched
}

// collect drains an iterator into typed rows.
func collect[T any](it memdb.ResultIterator, err error) []T {
	if err != nil {
		return nil
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, *raw.(*T))
	}
	return out
}
