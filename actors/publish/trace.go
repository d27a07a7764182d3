package publish

import (
	"context"
	"errors"

	"github.com/warrenmq/warren/actors/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// tracer is the tree's tracer: nil (tracing off) when the tree has none,
// or for a pool run on its own until its first publisher actor was made.
func (p *Pool) tracer() *tracing.Tracer {
	if e := p.env.Load(); e != nil {
		return e.Tracer
	}
	return nil
}

// startSpan starts the publish span of r, a child of ctx's span, and
// writes its context into r's headers (a copy: the caller's table is left
// alone), so that a resend carries the same. With tracing off it returns
// a nil span and does nothing else: no allocation.
func (p *Pool) startSpan(ctx context.Context, r *publishRequest, exchange, key string) trace.Span {
	tr := p.tracer()
	if tr == nil {
		return nil
	}
	ctx, span := tr.Start(ctx, trace.SpanKindProducer, tracing.OpPublish, exchange,
		tracing.Attrs(tracing.OpPublish, "send", exchange, key, r.msg.MessageId, r.msg.CorrelationId, len(r.msg.Body))...)
	r.msg.Headers = tracing.Inject(ctx, r.msg.Headers)
	return span
}

// endSpan ends a publish span (nil: tracing off) with the broker it went
// to and its outcome.
func (p *Pool) endSpan(span trace.Span, w written, err error) {
	if span == nil {
		return
	}
	if w.st != nil {
		span.SetAttributes(attribute.String(tracing.AttrBroker, w.st.broker))
	}
	if z := p.cfg.Zone; z != "" {
		span.SetAttributes(attribute.String(tracing.AttrZone, z))
	} else if e := p.env.Load(); e != nil {
		span.SetAttributes(attribute.String(tracing.AttrZone, e.LocalZone))
	}
	tracing.End(span, err, errorClass(err))
}

// errorClass is the error.type of a failed publish.
func errorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNacked):
		return "nacked"
	case errors.Is(err, ErrReturned), errors.As(err, new(*ReturnedError)):
		return "returned"
	case errors.Is(err, ErrNotConfirmed):
		return "not_confirmed"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrNoChannel):
		return "timeout"
	case errors.Is(err, ErrBufferFull):
		return "buffer_full"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrStopped):
		return "stopped"
	case errors.Is(err, ErrNoExchange):
		return "no_exchange"
	}
	return "error"
}
