package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/actors/tracing"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// On RabbitMQ, a call from one traced tree answered by a listener of
// another is one trace: the broker passes traceparent through (as Kazoo
// and Kamailio peers pass headers they do not know), the listener's
// process span is the client span's child and the reply's publish span
// the process span's.
func TestTrace_CallAcrossTreesOnRabbitMQ(t *testing.T) {
	b := SharedBroker(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	traced := treetest.With(supervisor.WithTracerProvider(tp))
	callerCfg := oneZone(b.URI())
	callerCfg.RPC = rpc.Config{Workers: 1, Node: "trace@test"}
	caller, _ := treetest.Start(t, callerCfg, traced)
	responderCfg := oneZone(b.URI())
	responderCfg.RPC.Workers = -1
	responder, _ := treetest.Start(t, responderCfg, traced)
	waitReady(t, caller, 20*time.Second)
	waitReady(t, responder, 20*time.Second)

	name := strings.ReplaceAll(t.Name(), "/", "-")
	app := kazoo.Defaults{AppName: "trace-test", AppVersion: "1"}
	spawnListener(t, responder, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name, AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: name}}, Defaults: app,
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			return d.Reply(ctx, map[string]any{"Event-Category": "test", "Event-Name": "pong"})
		}}}})
	ctx, root := tp.Tracer("test").Start(within(t, 10*time.Second), "operator")
	reply, err := caller.Call(ctx, rpc.Request{Exchange: kazoo.ExchangeCallmgr, RoutingKey: name, Defaults: app,
		Envelope: kazoo.Envelope{"Event-Category": "test", "Event-Name": "ping"}})
	root.End()
	if err != nil || reply.Name() != "pong" {
		t.Fatalf("Call = %v, %v; want the pong", reply, err)
	}
	find := func(name string) (tracetest.SpanStub, bool) {
		for _, s := range exp.GetSpans() {
			if s.Name == name && s.SpanContext.TraceID() == root.SpanContext().TraceID() {
				return s, true
			}
		}
		return tracetest.SpanStub{}, false
	}
	treetest.Eventually(t, responder, 5*time.Second, "the process and reply spans ended", func() bool {
		_, p := find("process callmgr")
		_, r := find("publish targeted")
		return p && r
	})
	client, okC := find("call callmgr")
	process, _ := find("process callmgr")
	rep, okR := find("publish targeted")
	if !okC || !okR || client.Parent.SpanID() != root.SpanContext().SpanID() ||
		process.Parent.SpanID() != client.SpanContext.SpanID() || rep.Parent.SpanID() != process.SpanContext.SpanID() {
		t.Fatalf("spans of the trace: %+v; want operator → call → process → reply publish", exp.GetSpans().Snapshots())
	}
	if tracingBroker := attrOf(process, tracing.AttrBroker); tracingBroker == "" || strings.Contains(tracingBroker, "@") {
		t.Fatalf("process span's broker %q: want the broker id, no credentials", tracingBroker)
	}
}

func attrOf(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}
