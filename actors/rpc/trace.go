package rpc

import (
	"context"
	"errors"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// collectTraced is collect inside a client span "call <exchange>", whose
// context the request carries (traceparent): the listener that answers
// processes it in a child span, and its reply, published from there,
// continues the trace. Each reply the call receives is an event of the
// span.
func (w *Pool) collectTraced(tr *tracing.Tracer, ctx context.Context, req Request, until Until) ([]kazoo.Envelope, error) {
	attrs := tracing.Attrs(tracing.OpCall, "send", req.Exchange, req.RoutingKey, "", "", -1) // Msg-ID and broker: callStarted
	ctx, span := tr.Start(ctx, trace.SpanKindClient, tracing.OpCall, req.Exchange, attrs...)
	got, err := w.observed(ctx, req, until)
	span.SetAttributes(attribute.Int(tracing.AttrReplies, len(got)))
	tracing.End(span, err, callErrorClass(err))
	return got, err
}

// callStarted adds to ctx's call span what is known once the request is
// on its way: the broker, zone and Msg-ID.
func callStarted(ctx context.Context, broker, zone, msgID string) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(attribute.String(tracing.AttrBroker, broker), attribute.String(tracing.AttrMessageID, msgID))
	if zone != "" {
		span.SetAttributes(attribute.String(tracing.AttrZone, zone))
	}
}

// replyEvent records a reply the call received as an event of its span,
// with the span the reply was published from (the replier's) when it
// carries one.
func replyEvent(ctx context.Context, r reply) {
	span := trace.SpanFromContext(ctx)
	if r.returned != nil {
		span.AddEvent("returned", trace.WithAttributes(attribute.Int("amqp.reply_code", int(r.returned.ReplyCode))))
		return
	}
	var attrs []attribute.KeyValue
	if sc := tracing.RemoteSpanContext(r.headers); sc.IsValid() {
		attrs = append(attrs, attribute.String("warren.reply.trace_id", sc.TraceID().String()),
			attribute.String("warren.reply.span_id", sc.SpanID().String()))
	}
	span.AddEvent(tracing.OpReply, trace.WithAttributes(attrs...))
}

// callErrorClass is the error.type of a failed call.
func callErrorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrCallTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrUnroutable):
		return "returned"
	case errors.Is(err, ErrNegativeReply):
		return "negative_reply"
	case errors.Is(err, ErrStopped):
		return "stopped"
	}
	return "error"
}

// withTraceID appends trace_id to a log line's args when ctx has a span.
func withTraceID(ctx context.Context, args ...any) []any {
	if id := tracing.TraceIDOf(ctx); id != "" {
		return append(args, "trace_id", id)
	}
	return args
}
