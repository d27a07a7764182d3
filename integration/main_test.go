package integration

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/warrenmq/warren/internal/leakcheck"
)

// Examples have no *testing.T: they share one broker that TestMain stops.
var (
	exampleOnce   sync.Once
	exampleB      *Broker
	exampleTB     = NewProcessTB("warren-example", nil)
	exampleFailed error
)

// TestMain stops the examples' broker after the tests, then checks that no
// goroutine of any tree, listener or raw client is left.
// The fault suite's table goes to the file $WARREN_FAULT_TABLE names
// (`make faults` prints it), else to stdout (shown with -v or on failure).
func TestMain(m *testing.M) {
	// toxiproxy v2.5.0 can leave a link's reader blocked after its proxy
	// stopped, when a toxic was removed with a chunk in flight; it is the
	// proxy's goroutine, not Warren's (faults_proxy_test.go).
	leakcheck.MainIgnoring(m, proxyGoroutines(), exampleTB.Close, func() {
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

// exampleBroker starts (once) the broker the examples use.
func exampleBroker() *Broker {
	exampleOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				exampleFailed = fmt.Errorf("%v", r)
			}
		}()
		exampleB = StartBroker(exampleTB)
	})
	if exampleFailed != nil {
		panic(exampleFailed)
	}
	return exampleB
}
