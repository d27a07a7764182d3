package treetest

import (
	"context"
	"testing"
	"time"

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
	return tree.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		s.WatchAll() // cond reads the registry itself: any table may matter
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
	err := tree.Registry().Wait(testkit.Within(t, d), func(s *registry.Snapshot) (bool, error) {
		row, found = s.Listener(path)
		return found && cond(row), nil
	})
	if err != nil {
		t.Fatalf("listener %s: %s not reached within %v: %v (last row %+v, found %v)", path, what, d, err, row, found)
	}
	return row
}
