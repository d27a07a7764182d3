package bench

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/warrenmq/warren/integration"
)

// Node starts a throw-away RabbitMQ node for the bench (the integration
// harness's: free ports, its own data and config files; the machine's
// broker is never touched) and returns its URI and a function that stops
// it and removes its files.
func Node(logf func(string, ...any)) (uri string, stop func(), err error) {
	tb := &nodeTB{logf: logf}
	defer func() {
		if r := recover(); r != nil {
			tb.cleanup()
			uri, stop, err = "", nil, fmt.Errorf("bench: start a RabbitMQ node: %v", r)
		}
	}()
	b := integration.StartBroker(tb)
	return b.URI(), tb.cleanup, nil
}

// nodeTB is the part of testing.TB the node harness uses, outside a test:
// a failure panics (Node turns it into an error).
type nodeTB struct {
	testing.TB
	logf     func(string, ...any)
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

func (n *nodeTB) Helper()                   {}
func (n *nodeTB) Failed() bool              { return false }
func (n *nodeTB) Name() string              { return "warren-bench" }
func (n *nodeTB) Logf(f string, a ...any)   { n.logf(f, a...) }
func (n *nodeTB) Errorf(f string, a ...any) { n.logf(f, a...) }
func (n *nodeTB) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (n *nodeTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func (n *nodeTB) Cleanup(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cleanups = append(n.cleanups, f)
}

func (n *nodeTB) TempDir() string {
	d, err := os.MkdirTemp("", "warren-bench-")
	if err != nil {
		panic(err)
	}
	n.mu.Lock()
	n.dirs = append(n.dirs, d)
	n.mu.Unlock()
	return d
}

func (n *nodeTB) cleanup() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.cleanups) - 1; i >= 0; i-- {
		n.cleanups[i]()
	}
	n.cleanups = nil
	for _, d := range n.dirs {
		_ = os.RemoveAll(d)
	}
	n.dirs = nil
}
