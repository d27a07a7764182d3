package registry

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// Writers holds the one writer of each table. [New] makes them; the tree
// hands each to the table's owner and keeps none for itself:
//
//	Connections  the connections actor (actors.NewConnectionsProps)
//	Assignments  the assignments actor (actors.NewAssignmentsProps)
//	Actors       the lifecycle middleware of every actor (actors.Env)
//	Listeners    each listener, its own row (actors.Env)
//	Publishers   each publisher, its own row (actors.Env)
//	Workers      each RPC worker, its own row (actors.Env)
//	Nodes        the nodes actor (Kazoo's kz_nodes)
//	Topology     the bootstrap actor (actors.NewBootstrapProps)
//
// The last four travel in actors.Env because the actors that write them
// are also spawned by embedding code, from the tree's Env.
//
// Each writer is a small value, safe for concurrent use by multiple
// goroutines: go-memdb serialises the write transactions. The zero value
// (not made by New) writes nothing and returns an error.
type Writers struct {
	Connections ConnectionsWriter
	Assignments AssignmentsWriter
	Actors      ActorsWriter
	Listeners   ListenersWriter
	Publishers  PublishersWriter
	Workers     WorkersWriter
	Nodes       NodesWriter
	Topology    TopologyWriter
}

// write runs fn in one write transaction and commits it when fn returns
// nil. A write transaction costs about 25µs however many rows it touches:
// owners batch related changes in one.
func (r *Registry) write(fn func(txn *memdb.Txn) error) error {
	if r == nil {
		return errNoWriter
	}
	txn := r.db.Txn(true)
	defer txn.Abort()
	if err := fn(txn); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// put inserts or replaces row in table, in a transaction shared with the
// rows written at the same time (writeGrouped).
func put(r *Registry, table string, row any) error {
	return r.writeGrouped(func(txn *memdb.Txn) error { return insert(txn, table, row) })
}

// del removes the row with id from table, in a transaction shared with the
// rows written at the same time (writeGrouped).
func del(r *Registry, table, id string) error {
	return r.writeGrouped(func(txn *memdb.Txn) error { return remove(txn, table, id) })
}

func insert(txn *memdb.Txn, table string, row any) error {
	if err := txn.Insert(table, row); err != nil {
		return fmt.Errorf("warren: registry: insert into %s: %w", table, err)
	}
	return nil
}

func remove(txn *memdb.Txn, table, id string) error {
	if _, err := txn.DeleteAll(table, "id", id); err != nil {
		return fmt.Errorf("warren: registry: delete %q from %s: %w", id, table, err)
	}
	return nil
}

// firstIn reads the row of table with id inside a (write) transaction.
func firstIn[T any](txn *memdb.Txn, table, id string) (T, bool) {
	var zero T
	raw, err := txn.First(table, "id", id)
	if err != nil || raw == nil {
		return zero, false
	}
	return *raw.(*T), true
}
