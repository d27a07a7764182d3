package registry

import "github.com/hashicorp/go-memdb"

// Snapshot is a consistent, read-only view of every table at one instant
// ([Registry.Snapshot]). Inside [Registry.Wait] it also remembers what was
// read through it, so that the wait wakes when exactly that changes: a
// row read by key wakes on that row, a list on its table (or index range).
// A Snapshot is meant for one goroutine and one short read; it holds no
// lock and never sees later commits.
type Snapshot struct {
	r   *Registry
	txn *memdb.Txn
	ws  memdb.WatchSet // nil outside Wait: nothing to remember
}

// Watch makes the wait this snapshot belongs to wake also when ch is
// closed or receives: a change signal from outside the registry (the
// federation's list of federated listeners, say). Outside a wait it does
// nothing.
func (s *Snapshot) Watch(ch <-chan struct{}) { s.ws.Add(ch) }

// WatchAll makes the wait wake on any change of any table (and of the
// assignments' Watchers counts): for conditions that read the registry
// otherwise than through s.
func (s *Snapshot) WatchAll() {
	for name := range tables {
		if it, err := s.txn.Get(name, "id"); err == nil {
			s.ws.Add(it.WatchCh())
		}
	}
	_, ch := s.r.watchersOf()
	s.ws.Add(ch)
}

// list reads the rows of table in the range of index and args.
func list[T any](s *Snapshot, table, index string, args ...any) []T {
	it, err := s.txn.Get(table, index, args...)
	if err != nil {
		return nil // only an unknown table or index: a bug the tests catch
	}
	s.ws.Add(it.WatchCh())
	return collect[T](it, nil)
}

// each calls fn on the rows of table in the range of index and args, in
// place (no copy), until fn returns false.
func each[T any](s *Snapshot, table, index string, fn func(*T) bool, args ...any) {
	it, err := s.txn.Get(table, index, args...)
	if err != nil {
		return
	}
	s.ws.Add(it.WatchCh())
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if !fn(raw.(*T)) {
			return
		}
	}
}

// one reads the first row of table in the range of index and args.
func one[T any](s *Snapshot, table, index string, args ...any) (T, bool) {
	var zero T
	ch, raw, err := s.txn.FirstWatch(table, index, args...)
	if err != nil {
		return zero, false
	}
	s.ws.Add(ch)
	if raw == nil {
		return zero, false
	}
	return *raw.(*T), true
}
