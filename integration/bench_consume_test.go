package integration

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// event256 is a 256-byte Kazoo JSON event.
var event256 = func() []byte {
	base := `{"Event-Category":"call_event","Event-Name":"CHANNEL_ANSWER","Msg-ID":"0123456789abcdef0123456789abcdef","App-Name":"bench","App-Version":"1.0","Call-ID":"c","Pad":"`
	return []byte(base + strings.Repeat("x", 256-len(base)-2) + `"}`)
}()

// fillQueue publishes n events to queue with confirms (outside the timer).
func fillQueue(b *testing.B, broker *Broker, queue string, n int) {
	b.Helper()
	ch := rawChannel(b, broker)
	if _, err := ch.QueueDeclare(queue, false, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	var last *amqp.DeferredConfirmation
	for i := range n {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", queue, false, false,
			amqp.Publishing{ContentType: "application/json", Body: event256})
		if err != nil {
			b.Fatal(err)
		}
		last = dc
		if i%1000 == 999 {
			if ok, err := dc.WaitContext(context.Background()); !ok || err != nil {
				b.Fatalf("fill: not confirmed: %v", err)
			}
		}
	}
	if last != nil {
		if ok, err := last.WaitContext(context.Background()); !ok || err != nil {
			b.Fatalf("fill: not confirmed: %v", err)
		}
	}
}

// BenchmarkConsume compares consuming b.N 256-byte JSON events with manual
// ack and prefetch 100 through a Warren listener (decoded, dispatched by
// event, acked after its handler) with raw amqp091-go on the same broker in
// the same run. Report: msg/s each.
func BenchmarkConsume(b *testing.B) {
	broker := StartBroker(b)
	tree, _ := treetest.Start(b, oneZone(broker.URI()))
	waitReady(b, tree, 20*time.Second)
	run := 0

	b.Run("raw-amqp091", func(b *testing.B) {
		run++
		queue := fmt.Sprintf("bench-raw-%d", run)
		fillQueue(b, broker, queue, b.N)
		ch := rawChannel(b, broker)
		if err := ch.Qos(100, 0, false); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			d := <-deliveries
			if err := d.Ack(false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})

	b.Run("warren-listener", func(b *testing.B) {
		run++
		queue := fmt.Sprintf("bench-warren-%d", run)
		fillQueue(b, broker, queue, b.N)
		var got atomic.Int64
		done := make(chan struct{})
		n := int64(b.N)
		b.ResetTimer()
		start := time.Now()
		pid, err := tree.SpawnListener(context.Background(), listener.Spec{Name: queue, Prefetch: 100,
			Queue: listener.QueueSpec{Name: queue},
			Handlers: []listener.Route{{Category: "call_event", Name: "CHANNEL_ANSWER", Handler: func(context.Context, *listener.Delivery) error {
				if got.Add(1) == n {
					close(done)
				}
				return nil
			}}}})
		if err != nil {
			b.Fatal(err)
		}
		<-done
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
		b.StopTimer()
		waitListener(b, tree, pid.Id, 10*time.Second, "all acked", func(l registry.Listener) bool { return l.Acked == uint64(b.N) })
		if err := tree.StopListener(context.Background(), queue); err != nil {
			b.Fatal(err)
		}
	})
}
