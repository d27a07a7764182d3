package treetest

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// Eventually waits until cond holds, re-checking it each time a registry
// table changes (the registry's memdb watches): cond may read any table.
// It fails the test if cond does not hold within d, naming what.
func Eventually(t testing.TB, tree *supervisor.Tree, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Await(testkit.Within(t, d), tree, cond); err != nil {
		t.Fatalf("%s: not true within %v: %v", what, d, err)
	}
}

// Await is Eventually for a caller with a context of its own: it returns
// ctx's error if ctx ends before cond holds. It is the one place the tests
// wait on the registry's memdb watches.
func Await(ctx context.Context, tree *supervisor.Tree, cond func() bool) error {
	return tree.Registry().WaitFor(ctx, func(txn *memdb.Txn, ws memdb.WatchSet) (bool, error) {
		for table := range registry.Schema().Tables {
			it, err := txn.Get(table, "id")
			if err != nil {
				return false, err
			}
			ws.Add(it.WatchCh())
		}
		return cond(), nil
	})
}

// WaitConnection waits until the connections row of broker satisfies
// cond and returns it.
func WaitConnection(t testing.TB, tree *supervisor.Tree, broker string, d time.Duration, what string, cond func(registry.Connection) bool) registry.Connection {
	t.Helper()
	row, err := tree.Registry().WaitConnection(testkit.Within(t, d), broker, cond)
	if err != nil {
		last, _ := tree.Registry().Connection(broker)
		t.Fatalf("broker %s: %s not reached within %v: %v (row %+v)", broker, what, d, err, last)
	}
	return row
}

// WaitListener waits until the listeners row at path satisfies cond and
// returns it.
func WaitListener(t testing.TB, tree *supervisor.Tree, path string, d time.Duration, what string, cond func(registry.Listener) bool) registry.Listener {
	t.Helper()
	var row registry.Listener
	var found bool
	err := Await(testkit.Within(t, d), tree, func() bool {
		row, found = tree.Registry().Listener(path)
		return found && cond(row)
	})
	if err != nil {
		t.Fatalf("listener %s: %s not reached within %v: %v (last row %+v, found %v)", path, what, d, err, row, found)
	}
	return row
}
