package tracing

import (
	"context"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of Warren's spans.
const ScopeName = "github.com/warrenmq/warren"

// Header names of the W3C trace context in AMQP headers.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// propagator is W3C trace context only: Warren carries no baggage, so
// that no caller's baggage leaks to peers through the broker.
var propagator = propagation.TraceContext{}

// Tracer starts Warren's spans and carries their context in AMQP headers.
// A nil *Tracer is tracing off: every method is then a no-op that
// allocates nothing. It is safe for concurrent use by multiple goroutines.
type Tracer struct {
	t trace.Tracer
}

// New returns the Tracer of tp; nil (tracing off) when tp is nil.
func New(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{t: tp.Tracer(ScopeName)}
}

// Inject writes ctx's span context into h and returns h, a new table when
// h is nil. It writes nothing for a ctx without a valid span context.
// The caller's table is not modified: headers given by a caller are
// copied before a traceparent is added.
func Inject(ctx context.Context, h amqp.Table) amqp.Table {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return h
	}
	out := make(amqp.Table, len(h)+2)
	for k, v := range h {
		out[k] = v
	}
	propagator.Inject(ctx, Carrier(out))
	return out
}

// Extract returns ctx carrying the remote span context in h, if any.
func Extract(ctx context.Context, h amqp.Table) context.Context {
	if _, ok := h[HeaderTraceparent]; !ok {
		return ctx
	}
	return propagator.Extract(ctx, Carrier(h))
}

// TraceID returns the trace id of the traceparent in h, "" when there is
// none (or it is malformed). It needs no tracer: `warren listen` prints
// it whether or not it traces.
func TraceID(h amqp.Table) string {
	sc := trace.SpanContextFromContext(Extract(context.Background(), h))
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// TraceIDOf returns the trace id of ctx's span, "" when it has none: log
// lines carry it as trace_id.
func TraceIDOf(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// Start starts a span of kind named "<op> <destination>" as a child of
// ctx's span, with attrs. On a nil Tracer it returns ctx and a no-op span.
func (t *Tracer) Start(ctx context.Context, kind trace.SpanKind, op, destination string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t == nil {
		return ctx, trace.SpanFromContext(context.Background()) // a no-op span
	}
	if destination == "" {
		destination = DefaultExchange
	}
	return t.t.Start(ctx, op+" "+destination, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// StartProcess starts the process span of a delivery whose headers are h:
// a child of the remote span context they carry (a root span when they
// carry none), of kind Consumer.
func (t *Tracer) StartProcess(ctx context.Context, h amqp.Table, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return t.Start(Extract(ctx, h), trace.SpanKindConsumer, OpProcess, exchangeOf(attrs), attrs...)
}

// End ends span, recording err (when not nil) with its class, the
// error.type attribute: "not_confirmed", "returned", "nacked", "timeout"…
func End(span trace.Span, err error, class string) {
	if err != nil && span.IsRecording() {
		if class == "" {
			class = "error"
		}
		span.SetAttributes(attribute.String(AttrErrorType, class))
		span.RecordError(err)
		span.SetStatus(codes.Error, class)
	}
	span.End()
}

func exchangeOf(attrs []attribute.KeyValue) string {
	for _, a := range attrs {
		if a.Key == AttrDestination {
			return a.Value.AsString()
		}
	}
	return ""
}

// RemoteSpanContext returns the span context h's traceparent carries,
// invalid when it carries none.
func RemoteSpanContext(h amqp.Table) trace.SpanContext {
	return trace.SpanContextFromContext(Extract(context.Background(), h))
}
