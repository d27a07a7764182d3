package integration

import "testing"

// SharedBroker is the node the examples use (started once, killed by
// TestMain), for tests that only declare, publish and consume: starting a
// node of its own costs a test 3–4 s of the 13-minute budget. A test on it
// must not kill, stop, freeze or reconfigure it, and names its queues and
// exchanges after itself (t.Name()), since other tests use it too. A test
// that breaks the broker starts its own with StartBroker.
func SharedBroker(t testing.TB) *Broker {
	t.Helper()
	n := exampleBroker()
	return &Broker{Name: n.Name, Port: n.Port, TLSPort: n.TLSPort, DistPort: n.DistPort, Dir: n.Dir, node: n}
}
