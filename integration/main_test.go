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
	exampleTB     = &mainTB{}
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
	leakcheck.MainIgnoring(m, proxyGoroutines(), exampleTB.cleanup, func() {
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

// mainTB is the part of testing.TB the harness uses, for code that runs
// outside a test (examples); a failure panics, which fails the example.
type mainTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

func (m *mainTB) Helper()                   {}
func (m *mainTB) Failed() bool              { return false }
func (m *mainTB) Logf(string, ...any)       {}
func (m *mainTB) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (m *mainTB) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (m *mainTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (m *mainTB) Name() string              { return "example" }

func (m *mainTB) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

func (m *mainTB) TempDir() string {
	d, err := os.MkdirTemp("", "warren-example-")
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	m.dirs = append(m.dirs, d)
	m.mu.Unlock()
	return d
}

func (m *mainTB) cleanup() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	for _, d := range m.dirs {
		os.RemoveAll(d)
	}
}
