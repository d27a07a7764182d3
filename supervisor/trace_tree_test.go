package supervisor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/actors/tracing"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// tracer returns a provider exporting to an in-memory exporter,
// synchronously: a span is there once it ended.
func tracer(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// spanNamed returns the ended span called name, if any.
func spanNamed(exp *tracetest.InMemoryExporter, name string) (tracetest.SpanStub, bool) {
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			return s, true
		}
	}
	return tracetest.SpanStub{}, false
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// traceTree starts a tree on nb with one RPC worker, traced by tp (nil:
// tracing off).
func traceTree(t *testing.T, nb *nullbroker.Server, tp trace.TracerProvider) *supervisor.Tree {
	t.Helper()
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}},
		RPC: rpc.Config{Workers: 1, Node: "test@host"}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	var opts []treetest.Option
	if tp != nil {
		opts = append(opts, treetest.With(supervisor.WithTracerProvider(tp)))
	}
	tree, _ := treetest.Start(t, cfg, opts...)
	treetest.WaitReady(t, tree, 10*time.Second)
	return tree
}

// pong spawns on tree a listener answering callmgr/key, reporting each
// delivery's headers.
func pong(t *testing.T, tree *supervisor.Tree, key string, got chan<- *listener.Delivery) {
	t.Helper()
	pid, err := tree.SpawnListener(testkit.Within(t, 5*time.Second), listener.Spec{Name: "pong-" + key,
		Queue:    listener.QueueSpec{Name: "pong-" + key, AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: key}}, Defaults: poolApp,
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			got <- d
			if d.Envelope.ServerID() == "" {
				return nil
			}
			return d.Reply(ctx, map[string]any{"Event-Category": "test", "Event-Name": "pong"})
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(testkit.Within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
}

// A call answered by a listener in another tree is one trace: the
// caller's span → the call's client span → the listener's process span →
// the reply's publish span, and the client span records the reply as an
// event naming the reply's span.
func TestTrace_CallAnsweredByAnotherTreeIsOneTrace(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	tpA, expA := tracer(t)
	tpB, expB := tracer(t)
	caller, responder := traceTree(t, nb, tpA), traceTree(t, nb, tpB)
	got := make(chan *listener.Delivery, 1)
	pong(t, responder, "trace.ping", got)

	ctx, root := tpA.Tracer("test").Start(testkit.Within(t, 5*time.Second), "operator")
	reply, err := caller.Call(ctx, callReq("trace.ping", ""))
	root.End()
	if err != nil || reply.Text("Event-Name") != "pong" {
		t.Fatalf("Call: %v, %v; want the pong", reply, err)
	}
	d := testkit.Recv(t, got, 5*time.Second, "the request's delivery")
	treetest.Eventually(t, responder, 5*time.Second, "the process and reply spans ended", func() bool {
		_, p := spanNamed(expB, "process callmgr")
		_, r := spanNamed(expB, "publish targeted")
		return p && r
	})

	client, ok := spanNamed(expA, "call callmgr")
	if !ok {
		t.Fatalf("no client span; caller's spans: %v", expA.GetSpans().Snapshots())
	}
	process, _ := spanNamed(expB, "process callmgr")
	rep, _ := spanNamed(expB, "publish targeted")
	tid := root.SpanContext().TraceID()
	for name, s := range map[string]tracetest.SpanStub{"client": client, "process": process, "reply": rep} {
		if s.SpanContext.TraceID() != tid {
			t.Errorf("%s span in trace %s; want the caller's %s", name, s.SpanContext.TraceID(), tid)
		}
	}
	if client.SpanKind != trace.SpanKindClient || client.Parent.SpanID() != root.SpanContext().SpanID() {
		t.Errorf("client span kind %v parent %s; want client, child of the caller's span", client.SpanKind, client.Parent.SpanID())
	}
	if process.SpanKind != trace.SpanKindConsumer || process.Parent.SpanID() != client.SpanContext.SpanID() || !process.Parent.IsRemote() {
		t.Errorf("process span kind %v parent %v; want consumer, remote child of the client span %s", process.SpanKind, process.Parent, client.SpanContext.SpanID())
	}
	if rep.Parent.SpanID() != process.SpanContext.SpanID() {
		t.Errorf("reply span's parent %s; want the process span %s", rep.Parent.SpanID(), process.SpanContext.SpanID())
	}
	if d.TraceID() != tid.String() {
		t.Errorf("Delivery.TraceID() = %q; want %s", d.TraceID(), tid)
	}
	if attr(process, tracing.AttrRoutingKey) != "trace.ping" || attr(process, tracing.AttrZone) != "local" || attr(process, tracing.AttrBroker) == "" {
		t.Errorf("process span attributes %v; want routing key, zone and broker", process.Attributes)
	}
	var replied bool
	for _, e := range client.Events {
		for _, a := range e.Attributes {
			if e.Name == tracing.OpReply && string(a.Key) == "warren.reply.span_id" && a.Value.AsString() == rep.SpanContext.SpanID().String() {
				replied = true
			}
		}
	}
	if !replied {
		t.Errorf("client span events %+v; want a reply event naming the reply's span %s", client.Events, rep.SpanContext.SpanID())
	}
	for _, s := range append(expA.GetSpans(), expB.GetSpans()...) {
		for _, a := range s.Attributes {
			if v := a.Value.Emit(); v == nb.URL() || (len(v) > 6 && v[:7] == "amqp://") {
				t.Errorf("span %s attribute %s = %q: a URI", s.Name, a.Key, v)
			}
		}
	}
}

// With no tracer provider, a publish carries no traceparent even from a
// ctx with a span, and the tree starts no span.
func TestTrace_OffAddsNoHeaderNoSpan(t *testing.T) {
	t.Setenv(treetest.EnvTracing, "") // off, even in a run that traces every tree
	nb := treetest.NullBroker(t, nullbroker.Config{})
	tp, exp := tracer(t) // the embedding application's, not given to the tree
	tree := traceTree(t, nb, nil)
	got := make(chan *listener.Delivery, 1)
	pong(t, tree, "trace.off", got)

	ctx, span := tp.Tracer("test").Start(testkit.Within(t, 5*time.Second), "app")
	body := []byte(`{"Event-Category":"test","Event-Name":"ping","App-Name":"t","App-Version":"1","Node":"n","Msg-ID":"m1"}`)
	if err := tree.Publish(ctx, kazoo.ExchangeCallmgr, "trace.off", body, publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	span.End()
	d := testkit.Recv(t, got, 5*time.Second, "the delivery")
	if _, ok := d.Headers[tracing.HeaderTraceparent]; ok {
		t.Fatalf("headers %v carry a traceparent with tracing off", d.Headers)
	}
	if d.TraceID() != "" {
		t.Fatalf("Delivery.TraceID() = %q with tracing off", d.TraceID())
	}
	if spans := exp.GetSpans(); len(spans) != 1 || spans[0].Name != "app" {
		t.Fatalf("spans %v; want only the application's", spans.Snapshots())
	}
}

// A delivery a federator takes from another zone's broker continues the
// trace of its publish there, and its process span names that zone.
func TestTrace_FederatedDeliveryKeepsTheTrace(t *testing.T) {
	local, east := treetest.NullBroker(t, nullbroker.Config{}), treetest.NullBroker(t, nullbroker.Config{})
	tp, exp := tracer(t)
	cfg := supervisor.Config{LocalZone: "local", Zones: []supervisor.Zone{
		{Name: "local", Brokers: []string{local.URL()}}, {Name: "east", Brokers: []string{east.URL()}}}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers = -1
	tree, _ := treetest.Start(t, cfg, treetest.With(supervisor.WithTracerProvider(tp)))
	treetest.WaitReady(t, tree, 10*time.Second)
	got := make(chan *listener.Delivery, 1)
	if _, err := tree.SpawnListener(testkit.Within(t, 5*time.Second), listener.Spec{Name: "fedt",
		Queue: listener.QueueSpec{Name: "fedt-q", AutoDelete: true}, Federate: true,
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: "fed.trace"}}, Defaults: poolApp,
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			got <- d
			return nil
		}}}}); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 10*time.Second, "the east federator consuming", func() bool {
		fs := tree.Federators("fedt")
		return len(fs) == 1 && fs[0].State == registry.ListenerConsuming
	})

	ctx, root := tp.Tracer("test").Start(testkit.Within(t, 5*time.Second), "east-app")
	body := []byte(`{"Event-Category":"test","Event-Name":"ping","App-Name":"t","App-Version":"1","Node":"n","Msg-ID":"f1"}`)
	if err := tree.Publish(ctx, kazoo.ExchangeCallmgr, "fed.trace", body, publish.ToZone("east"), publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	root.End()
	d := testkit.Recv(t, got, 5*time.Second, "the federated delivery")
	if d.Zone != "east" {
		t.Fatalf("delivery from zone %q; want east", d.Zone)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the process span ended", func() bool {
		_, ok := spanNamed(exp, "process callmgr")
		return ok
	})
	pub, ok := spanNamed(exp, "publish callmgr")
	process, _ := spanNamed(exp, "process callmgr")
	if !ok || pub.Parent.SpanID() != root.SpanContext().SpanID() {
		t.Fatalf("publish span %v, parent %s; want a child of the application's span", ok, pub.Parent.SpanID())
	}
	if process.SpanContext.TraceID() != root.SpanContext().TraceID() || process.Parent.SpanID() != pub.SpanContext.SpanID() {
		t.Fatalf("process span trace %s parent %s; want trace %s, child of the publish span %s",
			process.SpanContext.TraceID(), process.Parent.SpanID(), root.SpanContext().TraceID(), pub.SpanContext.SpanID())
	}
	if z := attr(process, tracing.AttrZone); z != "east" {
		t.Fatalf("process span zone %q; want east", z)
	}
	if z := attr(pub, tracing.AttrZone); z != "east" {
		t.Errorf("publish span zone %q; want east", z)
	}
}

// A publish the broker returns fails, and its span records the class
// "returned" with an error status.
func TestTrace_ReturnedPublishRecordsItsClass(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	tp, exp := tracer(t)
	tree := traceTree(t, nb, tp)
	err := tree.Publish(testkit.Within(t, 5*time.Second), "", "trace-nobody-q", []byte(`{}`), publish.Confirm(), publish.Mandatory())
	if err == nil {
		t.Fatal("a mandatory publish to no queue succeeded")
	}
	s, ok := spanNamed(exp, "publish amq.default")
	if !ok || attr(s, tracing.AttrErrorType) != "returned" || s.Status.Code.String() != "Error" {
		t.Fatalf("span %v %+v; want error.type returned (publish failed with %v)", ok, s, err)
	}
	if attr(s, tracing.AttrRoutingKey) != "trace-nobody-q" || attr(s, tracing.AttrMessageID) == "" {
		t.Fatalf("span attributes %v; want the routing key and the message id", s.Attributes)
	}
}

// A handler failure is logged with the trace id of the delivery.
func TestTrace_HandlerFailureLogCarriesTheTraceID(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	tp, _ := tracer(t)
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers = -1
	tree, logs := treetest.Start(t, cfg, treetest.With(supervisor.WithTracerProvider(tp)))
	treetest.WaitReady(t, tree, 10*time.Second)
	pid, err := tree.SpawnListener(testkit.Within(t, 5*time.Second), listener.Spec{Name: "failing",
		Queue: listener.QueueSpec{Name: "trace-failing", AutoDelete: true}, OnError: listener.Discard,
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return errors.New("boom") }}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(testkit.Within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	ctx, span := tp.Tracer("test").Start(testkit.Within(t, 5*time.Second), "app")
	body := []byte(`{"Event-Category":"test","Event-Name":"ping","App-Name":"t","App-Version":"1","Node":"n","Msg-ID":"x1"}`)
	if err := tree.Publish(ctx, "", "trace-failing", body, publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	span.End()
	want := "trace_id=" + span.SpanContext().TraceID().String()
	testkit.Await(t, 5*time.Second, "the failure logged with "+want, logs.Changed, func() bool {
		return strings.Contains(logs.String(), "handler failed") && strings.Contains(logs.String(), want)
	})
}

// A listener replying on its own channel (a tree without publishers)
// carries its process span in the reply's traceparent: the requester
// sees the reply in the trace of its request.
func TestTrace_ReplyOnTheListenersChannelContinuesTheTrace(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	tp, exp := tracer(t)
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers, cfg.Publish.Publishers = -1, -1
	tree, _ := treetest.Start(t, cfg, treetest.With(supervisor.WithTracerProvider(tp)))
	treetest.WaitReady(t, tree, 10*time.Second)
	got := make(chan *listener.Delivery, 1)
	pong(t, tree, "trace.onchannel", got)
	ch := testkit.AMQPChannel(t, nb.URL())
	if _, err := ch.QueueDeclare("trace-replies", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("trace-replies", "srv-trace", kazoo.ExchangeTargeted, false, nil); err != nil {
		t.Fatal(err)
	}
	replies, err := ch.Consume("trace-replies", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tp.Tracer("test").Start(testkit.Within(t, 5*time.Second), "requester")
	body := `{"Event-Category":"test","Event-Name":"ping","App-Name":"t","App-Version":"1","Node":"n","Msg-ID":"r1","Server-ID":"srv-trace"}`
	if err := ch.PublishWithContext(ctx, kazoo.ExchangeCallmgr, "trace.onchannel", false, false, amqp.Publishing{
		ContentType: "application/json", Body: []byte(body), Headers: tracing.Inject(ctx, nil)}); err != nil {
		t.Fatal(err)
	}
	span.End()
	testkit.Recv(t, got, 5*time.Second, "the request")
	reply := testkit.Recv(t, replies, 5*time.Second, "the reply on trace-replies")
	sc := tracing.RemoteSpanContext(reply.Headers)
	treetest.Eventually(t, tree, 5*time.Second, "the process span ended", func() bool {
		_, ok := spanNamed(exp, "process callmgr")
		return ok
	})
	process, _ := spanNamed(exp, "process callmgr")
	if sc.TraceID() != span.SpanContext().TraceID() || sc.SpanID() != process.SpanContext.SpanID() {
		t.Fatalf("reply's traceparent %v (headers %v); want the process span %s of trace %s",
			sc, reply.Headers, process.SpanContext.SpanID(), span.SpanContext().TraceID())
	}
}

// A publish made as the tree starts, before its publisher actors exist
// (it waits for one), carries the trace of its ctx: the pool has the
// tree's tracer from the start, not from its first publisher's making.
// (Under load, a test's publish made right after WaitReady went out
// without its traceparent, and its consumer started a trace of its own.)
func TestTrace_PublishBeforeThePublishersStartCarriesTheTrace(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ch := testkit.AMQPChannel(t, nb.URL())
	q, err := ch.QueueDeclare("trace-early", false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := tracer(t)
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.RPC.Workers = -1
	tree, _ := treetest.Start(t, cfg, treetest.With(supervisor.WithTracerProvider(tp)))
	ctx, span := tp.Tracer("test").Start(testkit.Within(t, 10*time.Second), "app")
	if err := tree.Publish(ctx, "", q.Name, []byte(`{}`)); err != nil { // no WaitReady: as early as a caller can
		t.Fatal(err)
	}
	span.End()
	d := testkit.Recv(t, deliveries, 10*time.Second, "the early publish")
	got := trace.SpanContextFromContext(tracing.Extract(context.Background(), d.Headers))
	if got.TraceID() != span.SpanContext().TraceID() {
		t.Fatalf("the early publish carries trace %v (headers %v); want its ctx's %v", got.TraceID(), d.Headers, span.SpanContext().TraceID())
	}
}
