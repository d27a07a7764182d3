package integration

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// BenchmarkListeners_ThousandRecover measures, for 1,000 idle listeners on
// one broker, the client memory per listener and, per broker kill and
// restart, the time from the broker accepting connections to Warren's
// connection being up, to every listener holding a channel, and to every
// listener consuming again. Backoff is tightened (100ms..250ms) so that the
// redial delay does not dominate.
func BenchmarkListeners_ThousandRecover(b *testing.B) {
	const n = 1000
	broker := StartBroker(b)
	cfg := oneZone(broker.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 250 * time.Millisecond}
	tree, _ := startTree(b, cfg)
	waitReady(b, tree, 20*time.Second)
	id := brokerID(b, broker)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for i := range n {
		if _, err := tree.SpawnListener(within(b, 10*time.Second), thousandSpec(i)); err != nil {
			b.Fatal(err)
		}
	}
	waitAllConsuming(b, tree, n, 60*time.Second)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heapPer := float64(after.HeapAlloc-before.HeapAlloc) / n
	goPer := float64(runtime.NumGoroutine()-g0) / n

	var toConn, toAssigned, toConsuming time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		broker.Kill(b)
		eventually(b, tree, 10*time.Second, "listeners notice", func() bool { return consuming(tree) == 0 })
		b.StartTimer()
		broker.Start(b)
		up := time.Now()
		waitConn(b, tree, id, 20*time.Second, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
		toConn += time.Since(up)
		eventually(b, tree, 60*time.Second, "all assigned", func() bool { return len(tree.Registry().AssignmentsIn(registry.Assigned)) == n })
		toAssigned += time.Since(up)
		waitAllConsuming(b, tree, n, 60*time.Second)
		toConsuming += time.Since(up)
	}
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(ms(toConn), "ms-to-connected")
	b.ReportMetric(ms(toAssigned), "ms-to-all-assigned")
	b.ReportMetric(ms(toConsuming), "ms-to-all-consuming")
	b.ReportMetric(heapPer, "heap-B/listener")
	b.ReportMetric(goPer, "goroutines/listener")
	fmt.Printf("1000 listeners: heap %.0f B and %.2f goroutines per idle listener\n", heapPer, goPer)
}
