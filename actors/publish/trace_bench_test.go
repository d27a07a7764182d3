package publish_test

import (
	"context"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkPublishTraced is BenchmarkPublish's fire-and-forget with
// tracing on: an SDK provider exporting nowhere, each publish made from a
// ctx holding a span. Its cost over BenchmarkPublish is a publish span
// and the traceparent header (what tracing off avoids entirely).
func BenchmarkPublishTraced(b *testing.B) {
	nb := startNull(b, nullbroker.Config{})
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.RPC.Workers = -1
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	tree, _ := treetest.Start(b, cfg, treetest.With(supervisor.WithTracerProvider(tp)))
	treetest.WaitReady(b, tree, 10*time.Second)
	body := make([]byte, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx, span := tp.Tracer("bench").Start(ctx, "app")
	defer span.End()
	// The first publish waits for a ready publisher; the loop measures the rest.
	if err := tree.Publish(ctx, "amq.fanout", "", body, publish.Confirm()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := tree.Publish(ctx, "amq.fanout", "", body); err != nil {
			b.Fatal(err)
		}
	}
}
