package actors

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/warrenmq/warren/internal/leakcheck"
)

// TestMain turns on the assignments actor's check of its waiting index
// against a scan of every consumer (waitCheck) for every test of the
// package, the tree tests included: a difference fails the run.
func TestMain(m *testing.M) {
	var mu sync.Mutex
	var diffs []error
	waitCheck = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		diffs = append(diffs, err)
	}
	leakcheck.Main(m, func() {
		mu.Lock()
		defer mu.Unlock()
		if len(diffs) == 0 {
			return
		}
		for _, err := range diffs[:min(len(diffs), 20)] {
			fmt.Fprintf(os.Stderr, "assignments: waiting index differs from a scan: %v\n", err)
		}
		fmt.Fprintf(os.Stderr, "FAIL: %d differences between the assignments actor's waiting index and a scan\n", len(diffs))
		os.Exit(1)
	})
}
