package tracing

import (
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/propagation"
)

// Carrier is an amqp.Table read and written as a TextMapCarrier: the W3C
// trace context travels as string headers (traceparent, tracestate).
// A Carrier is not safe for concurrent writes, as the table is not.
type Carrier amqp.Table

var _ propagation.TextMapCarrier = Carrier(nil)

// Get returns the string header key; "" when absent or not a string.
func (c Carrier) Get(key string) string {
	s, _ := c[key].(string)
	return s
}

// Set writes header key; the table must not be nil.
func (c Carrier) Set(key, value string) { c[key] = value }

// Keys lists the table's string headers.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k, v := range c {
		if _, ok := v.(string); ok {
			keys = append(keys, k)
		}
	}
	return keys
}
