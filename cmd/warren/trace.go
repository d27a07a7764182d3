package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/supervisor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// traceState is this command's tracing: the provider the tree is given
// (nil: tracing off) and, for --trace, the span the command runs in.
type traceState struct {
	tp   *sdktrace.TracerProvider
	span trace.Span
}

// traceHelp is what `warren run --help` says of traces.
const traceHelp = "Traces (OpenTelemetry) are exported with OTLP over HTTP when the standard\n" +
	"environment asks for it: OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://collector:4318) or\n" +
	"OTEL_TRACES_EXPORTER=otlp; OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and the other\n" +
	"OTEL_EXPORTER_OTLP_* settings apply. Without them nothing is traced."

// traceFlushTimeout bounds the export of the spans still buffered when a
// command ends.
const traceFlushTimeout = 5 * time.Second

// treeOptions are the supervisor options of every tree the CLI starts.
func (a *app) treeOptions(log *slog.Logger) []supervisor.Option {
	opts := []supervisor.Option{supervisor.WithLogger(log)}
	if a.trace.tp != nil {
		opts = append(opts, supervisor.WithTracerProvider(a.trace.tp))
	}
	return opts
}

// otlpWanted reports whether the standard OTEL_* environment asks for
// traces exported with OTLP: OTEL_TRACES_EXPORTER=otlp, or an OTLP
// endpoint set (unless OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED).
func (a *app) otlpWanted() (bool, error) {
	if strings.EqualFold(strings.TrimSpace(a.getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	switch exp := strings.ToLower(strings.TrimSpace(a.getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, a.otlpProtocol()
	case "":
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: warren exports traces with otlp (or none)", exp)
	}
	if a.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && a.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return false, nil
	}
	return true, a.otlpProtocol()
}

// otlpProtocol refuses an OTLP protocol other than http/protobuf (the
// OTLP default): warren links the HTTP exporter only, not gRPC's.
func (a *app) otlpProtocol() error {
	for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch p := strings.TrimSpace(a.getenv(key)); p {
		case "", "http/protobuf":
		default:
			return fmt.Errorf("%s=%s: warren exports traces with OTLP over http/protobuf only (the collector's port 4318)", key, p)
		}
		if a.getenv(key) != "" {
			return nil // the traces-specific setting wins
		}
	}
	return nil
}

// setupTracing gives the trees this command starts a tracer provider:
// one exporting with OTLP over HTTP when the OTEL_* environment asks for
// it (otlptracehttp reads the endpoint, headers, timeout… itself), else,
// when always (--trace), one exporting nowhere, so that trace ids are
// still made and carried. The returned func flushes and stops it.
func (a *app) setupTracing(ctx context.Context, always bool) (stop func(), err error) {
	want, err := a.otlpWanted()
	if err != nil {
		return nil, &usageError{err}
	}
	if !want && !always {
		return func() {}, nil
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "warren")),
		resource.WithFromEnv(), resource.WithTelemetrySDK()) // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES override
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if want {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	a.trace.tp = tp
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
		defer cancel()
		_ = tp.Shutdown(sctx) // a collector that is down costs the spans, not the command
	}, nil
}

// addTraceFlag adds --trace to a client command.
func addTraceFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("trace", false, "start a trace and print its id: the messages carry it (traceparent), listeners log "+
		"it and warren listen prints it; exported with OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER say so")
}

// startCLITrace, for a command given --trace, sets up tracing and starts
// the command's span, printing its trace id on stderr; end ends it and
// flushes. Without --trace it does nothing.
func (a *app) startCLITrace(cmd *cobra.Command) (end func(), err error) {
	if on, _ := cmd.Flags().GetBool("trace"); !on {
		return func() {}, nil
	}
	stop, err := a.setupTracing(cmd.Context(), true)
	if err != nil {
		return nil, err
	}
	_, span := a.trace.tp.Tracer("github.com/warrenmq/warren/cmd/warren").Start(cmd.Context(), "warren "+cmd.Name(),
		trace.WithSpanKind(trace.SpanKindClient))
	a.trace.span = span
	fmt.Fprintf(a.stderr, "warren: trace %s\n", span.SpanContext().TraceID())
	return func() { span.End(); stop() }, nil
}

// withTrace returns ctx carrying the command's --trace span, if any.
func (a *app) withTrace(ctx context.Context) context.Context {
	if a.trace.span == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, a.trace.span)
}

// traceSuffix is what `warren listen` appends to a delivery's text line:
// " trace=<id>" when it carries a traceparent, else nothing.
func traceSuffix(d *listener.Delivery) string {
	if id := d.TraceID(); id != "" {
		return " trace=" + id
	}
	return ""
}
