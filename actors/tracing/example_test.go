package tracing_test

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/tracing"
	"go.opentelemetry.io/otel/trace"
)

// A span context travels in AMQP headers as traceparent; the other side
// reads its trace back (warren listen prints it so).
func ExampleInject() {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	headers := tracing.Inject(trace.ContextWithSpanContext(context.Background(), sc), amqp.Table{"Deliver-To-PID": "<0.1.0>"})
	fmt.Println(headers[tracing.HeaderTraceparent])
	fmt.Println(tracing.TraceID(headers))
	// Output:
	// 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	// 4bf92f3577b34da6a3ce929d0e0e4736
}
