package tracing_test

import (
	"context"
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/tracing"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func provider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// Inject writes traceparent into a copy of the caller's headers, which
// Extract reads back as the same span context, remote.
func TestInject_ExtractRoundTripLeavesTheCallersTableAlone(t *testing.T) {
	tp, _ := provider(t)
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	defer span.End()
	mine := amqp.Table{"X-Mine": "1"}
	h := tracing.Inject(ctx, mine)
	if _, ok := mine[tracing.HeaderTraceparent]; ok || len(mine) != 1 {
		t.Fatalf("Inject modified the caller's table: %v", mine)
	}
	if h["X-Mine"] != "1" || h[tracing.HeaderTraceparent] == nil {
		t.Fatalf("injected headers %v; want X-Mine and traceparent", h)
	}
	sc := tracing.RemoteSpanContext(h)
	if !sc.IsRemote() || sc.TraceID() != span.SpanContext().TraceID() || sc.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("extracted %v; want the span %v, remote", sc, span.SpanContext())
	}
	if got := tracing.TraceID(h); got != span.SpanContext().TraceID().String() {
		t.Fatalf("TraceID = %q", got)
	}
}

// A ctx without a span injects nothing, and headers without (or with a
// malformed) traceparent carry no trace.
func TestInject_NothingWithoutASpan(t *testing.T) {
	if h := tracing.Inject(context.Background(), nil); h != nil {
		t.Fatalf("Inject without a span = %v; want nil", h)
	}
	for _, h := range []amqp.Table{nil, {}, {tracing.HeaderTraceparent: "garbage"}, {tracing.HeaderTraceparent: 42}} {
		if id := tracing.TraceID(h); id != "" {
			t.Errorf("TraceID(%v) = %q; want none", h, id)
		}
	}
}

// A nil Tracer (tracing off) starts no-op spans and allocates nothing.
func TestTracer_NilIsOffAndFree(t *testing.T) {
	if tracing.New(nil) != nil {
		t.Fatal("New(nil) is not nil")
	}
	var tr *tracing.Tracer
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, span := tr.Start(ctx, trace.SpanKindProducer, tracing.OpPublish, "x")
		if c != ctx || span.IsRecording() {
			t.Fatal("a nil Tracer started a span")
		}
		tracing.End(span, nil, "")
		_ = tracing.Inject(ctx, nil)
	})
	if allocs != 0 {
		t.Fatalf("tracing off allocates %v per publish", allocs)
	}
}

// End records a failure with its class as error.type and an error status.
func TestEnd_RecordsTheErrorClass(t *testing.T) {
	tp, exp := provider(t)
	tr := tracing.New(tp)
	_, span := tr.Start(context.Background(), trace.SpanKindProducer, tracing.OpPublish, "",
		tracing.Attrs(tracing.OpPublish, "send", "", "q", "m1", "", 3)...)
	tracing.End(span, errors.New("warren: publish nacked by the broker"), "nacked")
	s := exp.GetSpans()
	if len(s) != 1 || s[0].Name != "publish amq.default" || s[0].Status.Code != codes.Error {
		t.Fatalf("spans %+v; want one failed span publish amq.default", s)
	}
	var class string
	for _, a := range s[0].Attributes {
		if a.Key == tracing.AttrErrorType {
			class = a.Value.AsString()
		}
	}
	if class != "nacked" || len(s[0].Events) != 1 {
		t.Fatalf("error.type %q, events %v; want nacked and the error recorded", class, s[0].Events)
	}
}
