package treetest

import (
	"testing"

	"github.com/warrenmq/warren/internal/nullbroker"
)

// NullBroker starts an in-process broker (internal/nullbroker) that is
// thawed and closed when the test ends. Started before a tree, it closes
// after the tree's shutdown (cleanups run last-in, first-out).
func NullBroker(t testing.TB, cfg nullbroker.Config) *nullbroker.Server {
	t.Helper()
	nb, err := nullbroker.Start(cfg)
	if err != nil {
		t.Fatalf("start the null broker: %v", err)
	}
	t.Cleanup(func() {
		nb.Thaw()
		_ = nb.Close()
	})
	return nb
}
