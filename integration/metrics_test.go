package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// scrape reads the tree's /metrics through its admin handler and parses
// it with Prometheus's own text parser.
func scrape(t *testing.T, tree *supervisor.Tree) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	tree.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	text := rec.Body.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families, text
}

// value sums the samples of family whose labels include want.
func value(families map[string]*dto.MetricFamily, family string, want map[string]string) float64 {
	f := families[family]
	if f == nil {
		return -1
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// /metrics parses with Prometheus's parser and its counters move when
// messages are published, consumed and called; no label or value carries
// the broker's password.
func TestMetrics_CountersMoveWithTraffic(t *testing.T) {
	b := StartBroker(t, WithUser("metrics-user", "s3cret-pw"))
	tree, _ := treetest.Start(t, oneZone(b.URIWith("metrics-user", "s3cret-pw")))
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "metered", Queue: listener.QueueSpec{Name: "metered-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "metered.#"}},
		Defaults: listener.Defaults{AppName: "m", AppVersion: "1"},
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			if d.Envelope.Text("Server-ID") != "" {
				return d.Reply(ctx, map[string]any{"Event-Category": "m", "Event-Name": "resp"})
			}
			return nil
		}}}})
	if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	const n = 25
	for range n {
		if err := tree.Publish(within(t, 5*time.Second), "callmgr", "metered.x", []byte(`{"Event-Category":"m","Event-Name":"e"}`), publish.Confirm()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tree.Call(within(t, 5*time.Second), rpc.Request{Exchange: "callmgr", RoutingKey: "metered.req",
		Envelope: kazoo.Envelope{"Event-Category": "m", "Event-Name": "req"}, Defaults: kazoo.Defaults{AppName: "m", AppVersion: "1"}}); err != nil {
		t.Fatal(err)
	}
	var families map[string]*dto.MetricFamily
	var text string
	// /metrics is built from the registry's rows: re-read at each commit.
	treetest.Eventually(t, tree, 10*time.Second, "the counters in /metrics", func() bool {
		families, text = scrape(t, tree)
		return value(families, "warren_publishes_total", map[string]string{"outcome": "confirmed"}) >= n &&
			value(families, "warren_listener_deliveries_total", map[string]string{"listener": "metered", "outcome": "acked"}) >= n+1 &&
			value(families, "warren_rpc_worker_calls_total", map[string]string{"outcome": "replies"}) >= 1
	})
	for _, c := range []struct {
		family string
		labels map[string]string
		min    float64
	}{
		{"warren_ready", nil, 1},
		{"warren_connection_up", map[string]string{"role": "consume"}, 1},
		{"warren_connection_up", map[string]string{"role": "publish"}, 1},
		{"warren_connection_connects_total", map[string]string{"role": "consume"}, 1},
		{"warren_publish_confirm_seconds", map[string]string{"outcome": "acked"}, n},
		{"warren_rpc_call_seconds", map[string]string{"zone": "local", "outcome": "ok"}, 1},
		{"warren_listener_state", map[string]string{"listener": "metered", "state": "consuming"}, 1},
		{"warren_channels", map[string]string{"state": "assigned"}, 1},
		{"warren_actor_restarts_total", nil, 0},
		{"go_goroutines", nil, 1},
	} {
		if v := value(families, c.family, c.labels); v < c.min {
			t.Errorf("%s%v = %v, want >= %v", c.family, c.labels, v, c.min)
		}
	}
	if strings.Contains(text, "s3cret-pw") || strings.Contains(text, "metrics-user:") {
		t.Fatalf("/metrics shows the broker's credentials")
	}
}
