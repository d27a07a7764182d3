package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/tracing"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// `warren publish --trace` prints the id of the trace it starts, and the
// message carries it in its traceparent header; without --trace it
// carries none. `warren listen` prints that id, in text and --json.
func TestPublishTrace_PrintsTheTraceTheMessageCarries(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ch := testkit.AMQPChannel(t, nb.URL())
	if _, err := ch.QueueDeclare("cli-trace-q", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := warren(t, "publish", "--url", nb.URL(), "--exchange", "", "--key", "cli-trace-q", "--confirm", "--trace", `{"a":1}`)
	if code != exitOK {
		t.Fatalf("warren publish --trace = %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`warren: trace ([0-9a-f]{32})\n`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("stderr %q names no trace id", errOut)
	}
	d, ok, err := ch.Get("cli-trace-q", true)
	if err != nil || !ok {
		t.Fatalf("get: ok %v, err %v", ok, err)
	}
	if got := tracing.TraceID(d.Headers); got != m[1] {
		t.Fatalf("message's trace %q (headers %v); want the printed %s", got, d.Headers, m[1])
	}
	del := &listener.Delivery{Exchange: d.Exchange, RoutingKey: d.RoutingKey, Headers: d.Headers, Body: d.Body}
	if s := traceSuffix(del); s != " trace="+m[1] {
		t.Errorf("listen's text line ends %q; want trace=%s", s, m[1])
	}
	if line := decodeLine(t, deliveryLine(del, nil)); line["trace_id"] != m[1] {
		t.Errorf("listen --json trace_id = %v; want %s", line["trace_id"], m[1])
	}

	if code, out, errOut := warren(t, "publish", "--url", nb.URL(), "--exchange", "", "--key", "cli-trace-q", "--confirm", `{"a":2}`); code != exitOK || strings.Contains(errOut, "trace") {
		t.Fatalf("warren publish = %d, stderr %q\n%s", code, errOut, out)
	}
	d, ok, err = ch.Get("cli-trace-q", true)
	if err != nil || !ok {
		t.Fatalf("get: ok %v, err %v", ok, err)
	}
	if _, has := d.Headers[tracing.HeaderTraceparent]; has {
		t.Fatalf("untraced publish carries headers %v", d.Headers)
	}
	del = &listener.Delivery{Headers: d.Headers, Body: d.Body}
	if s := traceSuffix(del); s != "" {
		t.Errorf("listen's text line of an untraced message ends %q", s)
	}
	if line := decodeLine(t, deliveryLine(del, nil)); line["trace_id"] != nil {
		t.Errorf("listen --json of an untraced message has trace_id %v", line["trace_id"])
	}
}

// `warren run` exports traces with OTLP only when the standard OTEL_*
// environment says so, and refuses what it cannot honour.
func TestTracingEnv_OTLPOnlyWhenAsked(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr string
	}{
		{"nothing set: off", nil, false, ""},
		{"an endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, ""},
		{"a traces endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, ""},
		{"exporter otlp: on (default endpoint)", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, ""},
		{"exporter none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false, ""},
		{"SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false, ""},
		{"another exporter is refused", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, "OTEL_TRACES_EXPORTER=zipkin"},
		{"gRPC is refused", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, "http/protobuf only"},
		{"the traces protocol wins", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{getenv: func(k string) string { return tt.env[k] }}
			got, err := a.otlpWanted()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("otlpWanted() = %v, %v; want an error naming %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("otlpWanted() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// `warren run` with OTEL_EXPORTER_OTLP_ENDPOINT exports its spans with
// OTLP over HTTP (POST /v1/traces), flushed when it stops.
func TestRun_ExportsTracesWithOTLPWhenTheEnvironmentSaysSo(t *testing.T) {
	clearWarrenEnv(t)
	posts := make(chan string, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case posts <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + string(body):
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL) // the exporter reads the process's environment
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	running := make(chan *supervisor.Tree, 1)
	exited := make(chan int, 1)
	var stderr string
	go func() {
		code, _, errOut := cli{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL},
			started: func(t *supervisor.Tree, _ net.Addr) { running <- t }}.run(t, ctx, "run", "--url", nb.URL(), "--admin", "127.0.0.1:0")
		stderr = errOut
		exited <- code
	}()
	var tree *supervisor.Tree
	select {
	case tree = <-running:
	case code := <-exited:
		t.Fatalf("warren run exited with %d:\n%s", code, stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("warren run did not start within 10s")
	}
	if err := tree.WaitReady(testkit.Within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := tree.Publish(testkit.Within(t, 5*time.Second), "", "otlp-nobody", []byte(`{}`), publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	stop()
	if code := testkit.Recv(t, exited, 15*time.Second, "warren run's exit"); code != exitOK {
		t.Fatalf("warren run exited with %d:\n%s", code, stderr)
	}
	post := testkit.Recv(t, posts, 5*time.Second, "an OTLP export")
	if !strings.HasPrefix(post, "POST /v1/traces application/x-protobuf ") || !strings.Contains(post, "publish amq.default") {
		t.Fatalf("collector got %.200q; want the publish span POSTed to /v1/traces", post)
	}
}

// `warren call --trace` prints the id of the trace it starts, which the
// answering listener's delivery carries.
func TestCallTrace_TheListenerSeesThePrintedTrace(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.RPC.Workers = -1
	tree, _ := treetest.Start(t, cfg)
	treetest.WaitReady(t, tree, 10*time.Second)
	seen := make(chan string, 1)
	pid, err := tree.SpawnListener(testkit.Within(t, 5*time.Second), listener.Spec{Name: "cli-trace",
		Queue:    listener.QueueSpec{Name: "cli-trace-call", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: "cli.trace"}},
		Defaults: kazoo.Defaults{AppName: "t", AppVersion: "1"},
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			seen <- d.TraceID()
			return d.Reply(ctx, map[string]any{"Event-Category": "test", "Event-Name": "pong"})
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(testkit.Within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := warren(t, "call", "--url", nb.URL(), "--exchange", kazoo.ExchangeCallmgr, "--key", "cli.trace", "--trace",
		`{"Event-Category":"test","Event-Name":"ping"}`)
	if code != exitOK || !strings.Contains(out, `"Event-Name":"pong"`) {
		t.Fatalf("warren call --trace = %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`warren: trace ([0-9a-f]{32})\n`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("stderr %q names no trace id", errOut)
	}
	if got := testkit.Recv(t, seen, 5*time.Second, "the request's delivery"); got != m[1] {
		t.Fatalf("the listener saw trace %q; want the printed %s", got, m[1])
	}
}
