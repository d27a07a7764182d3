// Package testkit is the one home of Warren's test helpers: waiting with a
// deadline, receiving from a channel with a deadline, and the log buffer a
// test reads its tree's logs from. It imports testing and is imported only
// by _test.go files; it imports nothing of Warren, so the internal tests of
// every package may use it (the tree helpers, which import supervisor, are
// in [github.com/warrenmq/warren/internal/testkit/treetest]).
//
// # Waiting
//
// Tests wait on events, not on the clock:
//
//	Await    re-checks a condition each time a change signal fires: the
//	         null broker's [nullbroker.Server.Changed], a [LogBuffer]'s or a
//	         [Counter]'s Changed, a [Signal] the test's goroutines notify,
//	         any func() <-chan struct{} that is closed on a change
//	Recv     takes the next value from a channel
//	Quiet    asserts that nothing is waiting on a channel now: called once a
//	         later event proved that the unwanted one would have come first
//	Poll     re-checks every [PollEvery]; only for state outside the process
//	         that nothing can signal (rabbitmqctl output, a socket's owner)
//
// AMQPChannel opens a plain amqp091-go channel for a test's own
// publishing and checks.
//
// Registry rows are waited on through the registry's memdb watches
// (treetest.Eventually, registry.WaitConnection and its kin).
//
// Every wait has a deadline and its failure names what was awaited.
// Nothing here sleeps to let something happen, and no helper asserts that
// "nothing happened within 100 ms": on a loaded machine that proves little.
//
// # Leak checks
//
// The goroutine check every test package runs from its TestMain stays in
// internal/leakcheck: it imports only goleak, the registry's tests (whose
// package testkit's tree helpers import) use it too, and a TestMain is not
// a helper a test calls.
package testkit
