package integration

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit/treetest"
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
	tree, _ := treetest.Start(b, cfg)
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
		treetest.Eventually(b, tree, 10*time.Second, "listeners notice", func() bool { return consuming(tree) == 0 })
		b.StartTimer()
		broker.Start(b)
		up := time.Now()
		waitConn(b, tree, id, 20*time.Second, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
		toConn += time.Since(up)
		treetest.Eventually(b, tree, 60*time.Second, "all assigned", func() bool {
			k := 0
			for _, a := range tree.Registry().AssignmentsIn(registry.Assigned) {
				if strings.HasPrefix(a.Consumer, "warren/listeners/") {
					k++
				}
			}
			return k == n
		})
		toAssigned += time.Since(up)
		waitAllConsuming(b, tree, n, 60*time.Second)
		toConsuming += time.Since(up)
	}
	b.StopTimer()
	raw := rawThousand(b, broker, n)
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(float64(raw.Milliseconds()), "ms-raw-amqp091-same-topology")
	b.ReportMetric(ms(toConn), "ms-to-connected")
	b.ReportMetric(ms(toAssigned), "ms-to-all-assigned")
	b.ReportMetric(ms(toConsuming), "ms-to-all-consuming")
	b.ReportMetric(heapPer, "heap-B/listener")
	b.ReportMetric(goPer, "goroutines/listener")
	fmt.Printf("1000 listeners: heap %.0f B and %.2f goroutines per idle listener\n", heapPer, goPer)
}

// rawThousand times raw amqp091-go building the same topology for n
// consumers on one connection (a channel each: queue, qos, bind, consume),
// all at once: the floor for Warren's recovery on this broker.
func rawThousand(b *testing.B, broker *Broker, n int) time.Duration {
	conn, err := amqp.Dial(broker.URI())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := conn.Channel()
			if err == nil {
				q := fmt.Sprintf("raw-thousand-%d", i)
				if _, err = ch.QueueDeclare(q, false, true, false, false, nil); err == nil {
					if err = ch.Qos(50, 0, false); err == nil {
						if err = ch.QueueBind(q, fmt.Sprintf("call.event.raw.%d", i), "callevt", false, nil); err == nil {
							_, err = ch.Consume(q, "raw."+q, false, false, false, false, nil)
						}
					}
				}
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return took
}
