// Package leakcheck is the goroutine check every Warren test package runs
// from its TestMain: once the package's tests ran (and their cleanups),
// no goroutine may be left but the test runner's own. A tree that was
// started and shut down leaves nothing behind.
package leakcheck

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Options are the goroutines a test package may leave: none of Warren's.
func Options() []goleak.Option {
	return []goleak.Option{
		// protoactor's dead-letter throttle waits out its period (one tick)
		// after the actor system has shut down (actor/throttler.go).
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	}
}

// Main runs the package's tests, then after (cleanups shared by the whole
// package, such as a broker the examples use), then fails the run if any
// goroutine is left. Call it from TestMain: func TestMain(m *testing.M) { leakcheck.Main(m) }.
func Main(m *testing.M, after ...func()) { MainIgnoring(m, nil, after...) }

// MainIgnoring is Main for a package whose tests run third-party code
// that may leave goroutines of its own (the fault suite's in-process
// proxy): ignore names them; Warren's goroutines are still checked.
func MainIgnoring(m *testing.M, ignore []goleak.Option, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	if code == 0 {
		if err := goleak.Find(append(Options(), ignore...)...); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
