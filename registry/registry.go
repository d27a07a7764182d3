package registry

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-memdb"
)

// Registry is Warren's in-memory database. It is safe for concurrent use by
// multiple goroutines: reads are lock-free snapshots, writes are serialised
// by go-memdb's writer lock (and, by convention, each table has one writer).
type Registry struct {
	db *memdb.MemDB

	mu       sync.Mutex     // guards watchers
	watchers map[string]int // consumer -> callers blocked in WaitAssigned
}

// New returns an empty registry.
func New() *Registry {
	db, err := memdb.NewMemDB(Schema())
	if err != nil {
		// The schema is a compile-time constant; a failure is a programming error.
		panic(fmt.Sprintf("warren: registry schema: %v", err))
	}
	return &Registry{db: db, watchers: map[string]int{}}
}

// DB exposes the underlying go-memdb database for custom read queries.
// Never write through it: use [Registry.Write].
func (r *Registry) DB() *memdb.MemDB { return r.db }

// Write runs fn in one write transaction and commits it when fn returns nil.
// Writers batch related changes in one call: a write transaction costs about
// 25µs however many rows it touches.
func (r *Registry) Write(fn func(w *Writer) error) error {
	txn := r.db.Txn(true)
	defer txn.Abort()
	if err := fn(&Writer{txn: txn}); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// Writer is a write transaction handed to the function given to [Registry.Write].
// It must not be kept after that function returns.
type Writer struct{ txn *memdb.Txn }

// Insert and Delete give feature files typed writers of their own tables.
func (w *Writer) Insert(table string, row any) error { return w.insert(table, row) }

// Delete removes the row with id from table.
func (w *Writer) Delete(table, id string) error { return w.delete(table, id) }

func (w *Writer) insert(table string, row any) error {
	if err := w.txn.Insert(table, row); err != nil {
		return fmt.Errorf("warren: registry: insert into %s: %w", table, err)
	}
	return nil
}

func (w *Writer) delete(table, id string) error {
	if _, err := w.txn.DeleteAll(table, "id", id); err != nil {
		return fmt.Errorf("warren: registry: delete %q from %s: %w", id, table, err)
	}
	return nil
}

func (r *Registry) read() *memdb.Txn { return r.db.Txn(false) }

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

func first[T any](raw any, err error) (T, bool) {
	var zero T
	if err != nil || raw == nil {
		return zero, false
	}
	return *raw.(*T), true
}

// All lists every row of table, ordered by id.
func All[T any](r *Registry, table string) []T { return collect[T](r.read().Get(table, "id")) }

// One returns the row of table with id.
func One[T any](r *Registry, table, id string) (T, bool) {
	return first[T](r.read().First(table, "id", id))
}
