package integration

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// The broker-side faults of the fault suite: the node killed, frozen,
// flapping, in a memory alarm (fault_alarm_test.go), and the tree shut
// down in the middle of each fault.

// kill -9 while confirmed publishers and the listener run: every publish
// that returned nil is in the durable queue after the restart and reaches
// the listener (redeliveries of unacked messages show as duplicates).
func TestFault_Kill9DuringConfirmedPublishingAndConsuming(t *testing.T) {
	r := newFaultRig(t, "kill -9, restart")
	r.b.SyncMetadata(t) // the rig's queue, exchange and binding survive the crash
	stop := r.load(2, 1, 2*time.Second)
	r.confirmedMore(t, 200, 10*time.Second, "publishes flowing")
	r.b.Kill(t)
	r.waitDown(t, registry.Publish, 10*time.Second)
	r.b.Start(t)
	r.l.healed()
	r.waitUp(t, registry.Publish, 30*time.Second)
	r.confirmedMore(t, 200, 30*time.Second, "confirmed publishes after the restart")
	r.consumingAgain(t, 30*time.Second)
	r.finish(t, stop)
}

// SIGSTOP: the node's ports accept TCP but nothing answers. The heartbeat
// (1 s) declares both connections dead; calls fail by their deadlines;
// after SIGCONT everything resumes.
func TestFault_FrozenBroker(t *testing.T) {
	r := newFaultRig(t, "frozen broker (SIGSTOP)")
	stop := r.load(2, 1, time.Second)
	r.confirmedMore(t, 100, 10*time.Second, "publishes flowing")
	r.b.Freeze(t)
	r.waitDown(t, registry.Publish, 15*time.Second)
	r.waitDown(t, registry.Consume, 15*time.Second)
	waitConn(t, r.tree, r.connID(t, registry.Publish), 10*time.Second, "a dial against the frozen node has failed", func(c registry.Connection) bool {
		return c.Attempts >= 1 && !c.Available
	})
	r.b.Thaw(t)
	r.l.healed()
	r.waitUp(t, registry.Publish, 30*time.Second)
	r.confirmedMore(t, 100, 30*time.Second, "confirmed publishes after the thaw")
	r.consumingAgain(t, 30*time.Second)
	r.finish(t, stop)
}

// A broker killed and restarted every few seconds for a minute: Warren
// reconnects every time with one connection per role (no stampede of
// parallel dials, no connection left behind on the broker), loses no
// confirmed message, and its heap and goroutines stay flat.
func TestFault_FlappingBrokerForAMinute(t *testing.T) {
	r := newFaultRig(t, "flapping broker, 1 min")
	r.b.SyncMetadata(t)
	stop := r.load(2, 1, 2*time.Second)
	r.confirmedMore(t, 100, 10*time.Second, "publishes flowing")
	heap0, g0 := heapAndGoroutines()
	flaps := 0
	for end := time.Now().Add(time.Minute); time.Now().Before(end); flaps++ {
		r.b.Kill(t)
		r.waitDown(t, registry.Publish, 10*time.Second)
		r.b.Start(t)
		r.waitUp(t, registry.Publish, 30*time.Second)
		r.waitUp(t, registry.Consume, 30*time.Second)
		// One connection per role on the broker, whatever the dials did.
		testkit.Poll(t, 10*time.Second, "two warren connections on the broker", func() bool {
			return warrenConns(t, r.b) == 2
		})
		r.confirmedMore(t, 20, 30*time.Second, fmt.Sprintf("confirmed publishes after flap %d", flaps+1))
	}
	r.l.healed()
	r.confirmedMore(t, 20, 30*time.Second, "confirmed publishes after the last flap")
	r.consumingAgain(t, 30*time.Second)
	heap1, g1 := heapAndGoroutines()
	t.Logf("%d flaps; heap %d KB -> %d KB, goroutines %d -> %d", flaps, heap0>>10, heap1>>10, g0, g1)
	if heap1 > 2*heap0+16<<20 {
		t.Errorf("heap grew from %d KB to %d KB over %d flaps", heap0>>10, heap1>>10, flaps)
	}
	if g1 > g0+50 {
		t.Errorf("goroutines grew from %d to %d over %d flaps", g0, g1, flaps)
	}
	r.finish(t, stop)
}

// warrenConns counts the connections on the broker a Warren tree opened
// (client-provided names "warren" and "warren (publish)").
func warrenConns(t testing.TB, b *Broker) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(b.Ctl(t, "list_connections", "client_properties"), "\n") {
		if strings.Contains(line, `"connection_name","warren`) {
			n++
		}
	}
	return n
}

func heapAndGoroutines() (heap uint64, goroutines int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

// Shutdown in the middle of each fault, publishers still calling: it
// returns by its deadline, every call returns by its own, and the tree
// leaves no goroutine behind.
func TestFault_ShutdownUnderEachFault(t *testing.T) {
	nothing := func(*testing.T, *faultRig) {}
	faults := []struct {
		name   string
		proxy  bool
		inject func(t *testing.T, r *faultRig)
		heal   func(t *testing.T, r *faultRig) // after the shutdown, to count the queue
	}{
		{"cut without FIN", true, func(t *testing.T, r *faultRig) { r.px.Cut(t) }, nothing},
		{"cut that never heals", true, func(t *testing.T, r *faultRig) { r.px.CutExisting(t) }, nothing},
		{"latency", true, func(t *testing.T, r *faultRig) { r.px.Latency(t, 300, 0) }, nothing},
		{"frozen broker", false, func(t *testing.T, r *faultRig) { r.b.Freeze(t) },
			func(t *testing.T, r *faultRig) { r.b.Thaw(t) }},
		{"broker killed", false, func(t *testing.T, r *faultRig) { r.b.Kill(t) },
			func(t *testing.T, r *faultRig) { r.b.Start(t) }},
		{"memory alarm", false, func(t *testing.T, r *faultRig) {
			r.b.Ctl(t, "set_vm_memory_high_watermark", "0")
			waitConn(t, r.tree, r.connID(t, registry.Publish), 10*time.Second, "publishing connection blocked",
				func(c registry.Connection) bool { return c.State == registry.Blocked })
		}, func(t *testing.T, r *faultRig) { r.b.Ctl(t, "set_vm_memory_high_watermark", "0.4") }},
	}
	for _, f := range faults {
		t.Run(strings.ReplaceAll(f.name, " ", "_"), func(t *testing.T) {
			var opts []rigOption
			if f.proxy {
				opts = append(opts, viaProxy())
			}
			r := newFaultRig(t, "shutdown under "+f.name, opts...)
			r.b.SyncMetadata(t)
			stop := r.load(2, 1, time.Second)
			r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
			f.inject(t, r)
			// Calls in flight against the fault: a second of them.
			sent := r.l.sentCount()
			testkit.Await(t, 10*time.Second, "calls made under the fault", r.l.changes, func() bool { return r.l.sentCount() > sent+2 })
			shutdownUnderLoad(t, r, stop)
			f.heal(t, r)
			// Confirmed before the shutdown means received or in the queue.
			r.l.drain(t, r.b, r.queue)
		})
	}
}

// shutdownUnderLoad shuts the tree down while the load still runs, then
// stops the load (whose calls now fail with the tree stopped) and checks
// what is left.
func shutdownUnderLoad(t *testing.T, r *faultRig, stop func()) {
	t.Helper()
	if err := r.l.timed(10*time.Second, r.tree.Shutdown); err != nil {
		t.Errorf("shutdown under the fault: %v", err)
	}
	stop()
	shutdownClean(t, r.l, r.tree, r.base, 10*time.Second)
}

// 1,000 listeners on one node start, and all consume again after a broker
// restart (kill -9). Recovery is the time from the node accepting
// connections to the last listener consuming.
func TestFault_ThousandListenersThroughARestart(t *testing.T) {
	l := newLedger(t, "1,000 listeners through a restart")
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 250 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	const n = 1000
	start := time.Now()
	for i := range n {
		if _, err := tree.SpawnListener(within(t, 10*time.Second), thousandSpec(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitAllConsuming(t, tree, n, 60*time.Second)
	started := time.Since(start)
	t.Logf("%d listeners consuming %v after the first spawn", n, started.Round(time.Millisecond))
	testkit.Poll(t, 20*time.Second, "broker lists every consumer", func() bool { return ctlCount(t, b, "thousand-", "list_consumers", "queue_name") == n })

	b.Kill(t)
	treetest.Eventually(t, tree, 10*time.Second, "listeners notice", func() bool { return consuming(tree) == 0 })
	b.Start(t)
	up := time.Now()
	waitAllConsuming(t, tree, n, 60*time.Second)
	l.setRecovery(time.Since(up))
	l.notef("%d listeners consuming %v after the first spawn", n, started.Round(time.Millisecond))
	t.Logf("%d listeners consuming again %v after the broker accepted connections", n, time.Since(up).Round(time.Millisecond))
	testkit.Poll(t, 20*time.Second, "broker lists every consumer again", func() bool { return ctlCount(t, b, "thousand-", "list_consumers", "queue_name") == n })
}
