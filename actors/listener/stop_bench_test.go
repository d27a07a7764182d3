package listener_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
)

// BenchmarkStopListener measures Tree.StopListener (drain, then stop) of
// each of n consuming listeners in turn, on internal/nullbroker, per
// listener stopped: it stays flat as n grows when a stop reads only its
// listener's rows (it read every listener's row, n² in all, before).
func BenchmarkStopListener(b *testing.B) {
	for _, n := range []int{250, 1000} {
		b.Run(fmt.Sprintf("one-by-one-of-%d", n), func(b *testing.B) {
			tree := start(b, nil).tree
			ctx := within(b, 5*time.Minute)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				names := make([]string, n)
				for k := range names {
					names[k] = fmt.Sprintf("stop-%d-%d", i, k)
					if _, err := tree.SpawnListener(ctx, listener.Spec{Name: names[k], Queue: listener.QueueSpec{Name: names[k], AutoDelete: true},
						Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				for _, name := range names {
					if err := tree.StopListener(ctx, name); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/stop")
		})
	}
}
