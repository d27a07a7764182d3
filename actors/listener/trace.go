package listener

import (
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// handleTraced is handle with a process span: a child of the span context
// the delivery's headers carry (the publisher's), in the handlers' ctx,
// so that what a handler publishes, calls or replies continues the trace.
func (s *listenerShared) handleTraced(tr *tracing.Tracer, d amqp.Delivery, gen uint64, done func()) {
	st := s.current()
	attrs := append(tracing.Attrs(tracing.OpProcess, "process", d.Exchange, d.RoutingKey, d.MessageId, d.CorrelationId, len(d.Body)),
		attribute.String(tracing.AttrConsumerGroup, st.queue), attribute.String(tracing.AttrListener, s.listenerName()),
		attribute.String(tracing.AttrBroker, st.broker), attribute.String(tracing.AttrZone, st.zone))
	ctx, span := tr.StartProcess(s.handlerCtx(), d.Headers, attrs...)
	class, err := s.handleIn(ctx, tracing.TraceIDOf(ctx), d, gen, done)
	tracing.End(span, err, class)
}

// TraceID returns the id of the trace the delivery belongs to: its
// process span's when the tree traces, else the one its traceparent
// header carries; "" when it has neither.
func (d *Delivery) TraceID() string {
	if d.traceID != "" {
		return d.traceID
	}
	return tracing.TraceID(d.Headers)
}

// SpanContext returns the span context the delivery's traceparent header
// carries (the publisher's span), invalid when it has none.
func (d *Delivery) SpanContext() trace.SpanContext {
	return tracing.RemoteSpanContext(d.Headers)
}

// withTraceID appends trace_id to a log line's args when d has a trace.
func withTraceID(d *Delivery, args ...any) []any {
	if id := d.TraceID(); id != "" {
		return append(args, "trace_id", id)
	}
	return args
}
