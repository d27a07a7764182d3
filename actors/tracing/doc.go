// Package tracing is Warren's OpenTelemetry glue: W3C trace context
// (traceparent, tracestate) carried in AMQP headers, and the spans of the
// publish, delivery and call paths, named and attributed after the
// OpenTelemetry messaging semantic conventions.
//
// # Off by default
//
// A nil [*Tracer] is tracing off: the publish and delivery paths test for
// it and do nothing else, so that a tree without a tracer provider
// (supervisor.WithTracerProvider) adds no header, no span and no
// allocation. [New] returns nil for a nil provider.
//
// # Carrier
//
// [Carrier] adapts an amqp.Table to propagation.TextMapCarrier. Kazoo
// and Kamailio peers ignore headers they do not know, so a traceparent
// header passes through them untouched.
//
// # Attributes
//
// Spans carry the exchange, routing key, message and correlation ids,
// broker id and zone ([Attrs]); never a URI or a body. A failed span
// records its error with an error.type class (see [End]).
package tracing
