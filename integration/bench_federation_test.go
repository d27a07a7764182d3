package integration

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// BenchmarkFederation_DeliveryLatency measures, in one run, the time from a
// raw publish to a federated listener's handler for a message published in
// the local zone (the listener's own queue) and one published in the other
// zone (through its federator on the remote broker): p50 and p99 of each,
// one message at a time.
func BenchmarkFederation_DeliveryLatency(b *testing.B) {
	b1, b2 := StartBroker(b), StartBroker(b)
	tree, _ := treetest.Start(b, twoZones(b1, b2))
	waitReady(b, tree, 20*time.Second)
	arrived := make(chan time.Time, 1)
	pid, err := tree.SpawnListener(within(b, 10*time.Second), listener.Spec{Name: "bench-fed", Federate: true,
		Queue:    listener.QueueSpec{Name: "bench-fed-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "bench.*"}},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error {
			arrived <- time.Now()
			return nil
		}}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := tree.WaitConsuming(within(b, 20*time.Second), pid); err != nil {
		b.Fatal(err)
	}
	waitFederatorConsuming(b, tree, "bench-fed")
	ch1, ch2 := rawChannel(b, b1), rawChannel(b, b2)
	body := `{"Event-Category":"bench","Event-Name":"lat"}`
	measure := func(name string, pub func()) {
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			start := time.Now()
			pub()
			at := recv(b, arrived, 10*time.Second, name+" delivery")
			lat = append(lat, at.Sub(start))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
		b.ReportMetric(p(0.50), name+"-p50-µs")
		b.ReportMetric(p(0.99), name+"-p99-µs")
		b.Logf("%s: p50 %v p99 %v over %d", name, time.Duration(p(0.5))*time.Microsecond, time.Duration(p(0.99))*time.Microsecond, len(lat))
	}
	b.ResetTimer()
	measure("local", func() { publishJSON(b, ch1, "callevt", "bench.local", body) })
	measure("remote", func() { publishJSON(b, ch2, "callevt", "bench.remote", body) })
	b.StopTimer()
}
