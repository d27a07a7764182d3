package integration

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/leakcheck"
	"github.com/warrenmq/warren/internal/rabbitnode"
)

// Examples have no *testing.T: they share one node, started by the first
// example that asks for it and killed by TestMain after the tests, in a
// directory TestMain removes.
var (
	exampleOnce sync.Once
	exampleNode *rabbitnode.Node
	exampleRoot string // holds the node's directory and the examples' files
	exampleErr  error
)

// TestMain stops the examples' broker after the tests, then checks that no
// goroutine of any tree, listener or raw client is left.
// The fault suite's table goes to the file $WARREN_FAULT_TABLE names
// (`make faults` prints it), else to stdout (shown with -v or on failure).
func TestMain(m *testing.M) {
	// toxiproxy v2.5.0 can leave a link's reader blocked after its proxy
	// stopped, when a toxic was removed with a chunk in flight; it is the
	// proxy's goroutine, not Warren's (faults_proxy_test.go).
	leakcheck.MainIgnoring(m, proxyGoroutines(), stopExampleBroker, func() {
		if path := os.Getenv("WARREN_FAULT_TABLE"); path != "" {
			if f, err := os.Create(path); err == nil {
				printFaultTable(f)
				f.Close()
				return
			}
		}
		printFaultTable(os.Stdout)
	})
}

// exampleBroker starts (once) the node the examples use; an example has no
// test to fail, so a node that cannot start panics with the reason.
func exampleBroker() *rabbitnode.Node {
	exampleOnce.Do(func() {
		if exampleRoot, exampleErr = os.MkdirTemp("", "warren-example-"); exampleErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		exampleNode, exampleErr = rabbitnode.Start(ctx, exampleRoot+"/node")
	})
	if exampleErr != nil {
		panic(fmt.Sprintf("the examples' RabbitMQ node: %v", exampleErr))
	}
	return exampleNode
}

// exampleDir is a directory for an example's files, removed with the
// examples' node.
func exampleDir() string {
	exampleBroker()
	d, err := os.MkdirTemp(exampleRoot, "files-")
	if err != nil {
		panic(err)
	}
	return d
}

// stopExampleBroker kills the examples' node, if one started, and removes
// its directory.
func stopExampleBroker() {
	if exampleNode != nil {
		if err := exampleNode.Kill(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: the examples' node: %v\n", err)
		}
	}
	if exampleRoot != "" {
		_ = os.RemoveAll(exampleRoot)
	}
}
