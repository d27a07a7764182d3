package nullbroker

import (
	"context"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// BenchmarkPublishConfirm measures publishing with publisher confirms
// through nullbroker with amqp091-go, keeping a window of unconfirmed
// publishes in flight, as a confirming publisher does. "dropped" publishes
// to an exchange with no bindings (the broker's cheapest path, a sink);
// "consumed" routes to a queue drained by an auto-ack consumer on another
// connection.
func BenchmarkPublishConfirm(b *testing.B) {
	for _, mode := range []string{"dropped", "consumed"} {
		b.Run(mode, func(b *testing.B) {
			s := start(b, Config{})
			ch := open(b, dial(b, s))
			if err := ch.Confirm(false); err != nil {
				b.Fatal(err)
			}
			exchange, key := "amq.fanout", ""
			var deliveries <-chan amqp.Delivery
			if mode == "consumed" {
				exchange, key = "", "bench"
				sub := open(b, dial(b, s))
				declare(b, sub, "bench")
				deliveries = consume(b, sub, "bench", true)
			}
			body := make([]byte, 256)
			ctx := context.Background()
			const window = 256
			pending := make([]*amqp.DeferredConfirmation, 0, window)
			flush := func() {
				for _, dc := range pending {
					if ok, err := dc.WaitContext(ctx); !ok || err != nil {
						b.Fatalf("confirm: %v %v", ok, err)
					}
				}
				pending = pending[:0]
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, amqp.Publishing{Body: body})
				if err != nil {
					b.Fatal(err)
				}
				if pending = append(pending, dc); len(pending) == window {
					flush()
				}
			}
			flush()
			if deliveries != nil {
				for range b.N {
					<-deliveries
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
