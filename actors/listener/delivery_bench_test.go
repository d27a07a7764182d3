package listener_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkDelivery measures the delivery path, with allocations: a
// Kazoo JSON event published on a plain amqp091 channel, consumed,
// decoded, routed to its handler and acked, on internal/nullbroker (all
// in this process: the publisher's, broker's and consumer's costs count).
// "untraced" is a tree without a tracer provider: it must allocate no
// more than before tracing existed; "traced" runs an SDK provider
// exporting nowhere, the cost of a process span.
func BenchmarkDelivery(b *testing.B) {
	b.Run("untraced", func(b *testing.B) { benchDelivery(b) })
	b.Run("traced", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer func() { _ = tp.Shutdown(context.Background()) }()
		benchDelivery(b, treetest.With(supervisor.WithTracerProvider(tp)))
	})
}

func benchDelivery(b *testing.B, opts ...treetest.Option) {
	r := start(b, nil, opts...)
	nb, tree := r.nb, r.tree
	var handled atomic.Int64
	var want atomic.Int64
	done := make(chan struct{}, 1)
	spawn(b, tree, listener.Spec{Name: "bench", Queue: listener.QueueSpec{Name: "bench-q", AutoDelete: true},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error {
			if handled.Add(1) == want.Load() {
				done <- struct{}{}
			}
			return nil
		}}}})
	ch := testkit.AMQPChannel(b, nb.URL())
	msg := amqp.Publishing{ContentType: "application/json", Body: []byte(event("bench", "ping", "m1"))}
	ctx := within(b, time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	want.Store(int64(b.N))
	for range b.N {
		if err := ch.PublishWithContext(ctx, "", "bench-q", false, false, msg); err != nil {
			b.Fatal(err)
		}
	}
	testkit.Recv(b, done, time.Minute, "every delivery handled")
	b.StopTimer()
}
