package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// benchWindow is how many confirmed publishes are in flight at once.
const benchWindow = 256

// benchQueue keeps only its newest 10000 messages (x-max-length, drop-head),
// so the broker's memory stays flat however much is published.
const benchQueue = "bench.publish"

// benchBody is a 256-byte JSON body, the size of a small Kazoo API message.
var benchBody = []byte(`{"App-Name":"bench","App-Version":"1.0","Event-Category":"bench","Event-Name":"publish","Msg-ID":"` +
	strings.Repeat("0", 32) + `","Node":"bench@localhost","Server-ID":"","Pad":"` + strings.Repeat("x", 256-181) + `"}`)

// BenchmarkPublish compares, on one broker in one run, Warren's Publish with
// raw amqp091-go: fire-and-forget from one goroutine, and confirmed with
// benchWindow publishes in flight (raw: one channel and a ring of
// DeferredConfirmations; Warren: benchWindow goroutines calling Publish
// with Confirm). Every variant publishes 256-byte JSON bodies to benchQueue
// and ends with a round trip that the broker answers only after it handled
// all of the variant's publishes. Compare the msgs/s of warren-X with
// raw-amqp091-X; on a shared machine, BenchmarkPublishRatio is steadier.
func BenchmarkPublish(b *testing.B) {
	bb := newPublishBench(b)
	for _, v := range bb.variants() {
		b.Run(v.name, func(b *testing.B) {
			b.ResetTimer()
			v.run(b, b.N, 0)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkPublishRatio runs each raw/Warren pair of BenchmarkPublish in
// alternating rounds of one second, raw first in one round and Warren
// first in the next, and reports the median of the per-round ratios
// warren/raw: on two cores shared with the broker (and other work), the
// load drifts too much between two sub-benchmarks seconds apart for their
// quotient to mean much. Run it with -benchtime 1x.
func BenchmarkPublishRatio(b *testing.B) {
	bb := newPublishBench(b)
	vs := bb.variants()
	const rounds, round = 8, time.Second
	for range b.N {
		for pair := 0; pair < len(vs); pair += 2 {
			raw, warren := vs[pair], vs[pair+1]
			var ratios, rawRates, warrenRates []float64
			for i := range rounds {
				first, second := raw, warren
				if i%2 == 1 {
					first, second = warren, raw
				}
				r1 := first.rate(b, round)
				r2 := second.rate(b, round)
				if i%2 == 1 {
					r1, r2 = r2, r1
				}
				rawRates, warrenRates = append(rawRates, r1), append(warrenRates, r2)
				ratios = append(ratios, r2/r1)
			}
			mode := strings.TrimPrefix(raw.name, "raw-amqp091-")
			b.ReportMetric(median(ratios), "ratio-"+mode)
			b.ReportMetric(median(rawRates), "raw-"+mode+"-msgs/s")
			b.ReportMetric(median(warrenRates), "warren-"+mode+"-msgs/s")
			b.Logf("%s: ratios %s", mode, fmtRates(ratios))
		}
	}
}

type publishBench struct {
	conn *amqp.Connection
	tree *supervisor.Tree
}

func newPublishBench(b *testing.B) *publishBench {
	if len(benchBody) != 256 {
		b.Fatalf("body is %d bytes", len(benchBody))
	}
	broker := StartBroker(b)
	conn, err := amqp.Dial(broker.URI())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(benchQueue, false, false, false, false,
		amqp.Table{"x-max-length": int32(10000), "x-overflow": "drop-head"}); err != nil {
		b.Fatal(err)
	}
	_ = ch.Close()
	tree, _ := treetest.Start(b, oneZone(broker.URI()))
	waitReady(b, tree, 20*time.Second)
	waitPublishersReady(b, tree, 10*time.Second)
	return &publishBench{conn: conn, tree: tree}
}

// benchVariant publishes n messages, or for d when d > 0, and returns how
// many it published.
type benchVariant struct {
	name string
	run  func(b *testing.B, n int, d time.Duration) int
}

func (v benchVariant) rate(b *testing.B, d time.Duration) float64 {
	start := time.Now()
	n := v.run(b, 0, d)
	return float64(n) / time.Since(start).Seconds()
}

// variants lists raw, Warren pairs.
func (bb *publishBench) variants() []benchVariant {
	return []benchVariant{
		{"raw-amqp091-unconfirmed", bb.rawUnconfirmed},
		{"warren-unconfirmed", bb.warrenUnconfirmed},
		{"raw-amqp091-confirmed-pipelined", bb.rawConfirmed},
		{"warren-confirmed-pipelined", bb.warrenConfirmed},
	}
}

// more reports whether a loop that published i messages goes on: up to n,
// or until deadline (checked every 64 messages) when n is 0.
func more(i, n int, deadline time.Time) bool {
	if n > 0 {
		return i < n
	}
	return i%64 != 0 || time.Now().Before(deadline)
}

func (bb *publishBench) rawUnconfirmed(b *testing.B, n int, d time.Duration) int {
	ch := bb.rawChannel(b, false)
	defer ch.Close()
	deadline := time.Now().Add(d)
	i := 0
	for ; more(i, n, deadline); i++ {
		if err := ch.Publish("", benchQueue, false, false, amqp.Publishing{ContentType: "application/json", Body: benchBody}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := ch.QueueDeclarePassive(benchQueue, false, false, false, false, nil); err != nil { // round trip
		b.Fatal(err)
	}
	return i
}

func (bb *publishBench) warrenUnconfirmed(b *testing.B, n int, d time.Duration) int {
	ctx := context.Background()
	deadline := time.Now().Add(d)
	i := 0
	for ; more(i, n, deadline); i++ {
		if err := bb.tree.Publish(ctx, "", benchQueue, benchBody); err != nil {
			b.Fatal(err)
		}
	}
	// A confirmed publish on each publisher's channels: its ack comes after
	// the broker handled every earlier publish on that connection's channel.
	set, err := bb.tree.Publishers()
	if err != nil {
		b.Fatal(err)
	}
	for range set.Config().Publishers {
		if err := bb.tree.Publish(ctx, "", benchQueue, benchBody, publish.Confirm()); err != nil {
			b.Fatal(err)
		}
	}
	return i
}

func (bb *publishBench) rawConfirmed(b *testing.B, n int, d time.Duration) int {
	ch := bb.rawChannel(b, true)
	defer ch.Close()
	ring := make([]*amqp.DeferredConfirmation, benchWindow)
	deadline := time.Now().Add(d)
	i := 0
	for ; more(i, n, deadline); i++ {
		if dc := ring[i%benchWindow]; dc != nil && !dc.Wait() {
			b.Fatal("nacked")
		}
		dc, err := ch.PublishWithDeferredConfirm("", benchQueue, false, false, amqp.Publishing{ContentType: "application/json", Body: benchBody})
		if err != nil {
			b.Fatal(err)
		}
		ring[i%benchWindow] = dc
	}
	for _, dc := range ring {
		if dc != nil && !dc.Wait() {
			b.Fatal("nacked")
		}
	}
	return i
}

func (bb *publishBench) warrenConfirmed(b *testing.B, n int, d time.Duration) int {
	ctx := context.Background()
	deadline := time.Now().Add(d)
	var (
		next   atomic.Int64
		done   atomic.Int64
		failed atomic.Value
		wg     sync.WaitGroup
	)
	for range benchWindow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if n > 0 && i > n || n == 0 && i%64 == 0 && !time.Now().Before(deadline) {
					return
				}
				if err := bb.tree.Publish(ctx, "", benchQueue, benchBody, publish.Confirm()); err != nil {
					failed.Store(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return int(done.Load())
}

func (bb *publishBench) rawChannel(b *testing.B, confirm bool) *amqp.Channel {
	ch, err := bb.conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	if confirm {
		if err := ch.Confirm(false); err != nil {
			b.Fatal(err)
		}
	}
	return ch
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}
