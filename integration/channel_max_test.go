package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// readyz answers GET /readyz of tree's admin API: its status code and body.
func readyz(t *testing.T, tree *supervisor.Tree) (int, supervisor.AdminReadiness) {
	t.Helper()
	rec := httptest.NewRecorder()
	tree.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body supervisor.AdminReadiness
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET /readyz: %v: %s", err, rec.Body.String())
	}
	return rec.Code, body
}

// listenerStates counts the listeners' rows by state, and returns the rows
// of those waiting for a channel.
func listenerStates(tree *supervisor.Tree) (map[registry.ListenerState]int, []registry.Listener) {
	n := map[registry.ListenerState]int{}
	var waiting []registry.Listener
	for _, l := range tree.Registry().Listeners() {
		n[l.State]++
		if l.State == registry.ListenerWaiting || l.State == registry.ListenerReconnecting {
			waiting = append(waiting, l)
		}
	}
	return n, waiting
}

// Listeners past one connection's channel_max never wait in silence: on a
// node whose rabbitmq.conf sets channel_max = 20, with one connection
// allowed to the broker (MaxConnections 1: no other is opened for them),
// 30 listeners get 19 channels (the connection's control channel is the
// 20th) and the other 11
// wait with "no channel left on broker X: channel_max 20 reached" on their
// listener and assignments rows; the node stays ready but says it is
// degraded (GET /readyz 200 "degraded", Tree.Degraded). Once 15 listeners
// stop, the ones left all consume and the degraded state clears.
func TestChannelMax_WaitingListenersSayWhyAndTheNodeIsDegraded(t *testing.T) {
	const channelMax, spawned, stopped = 20, 30, 15
	b := StartBroker(t, WithConfig(fmt.Sprintf("channel_max = %d", channelMax)))
	cfg := bare(oneZone(b.URI()))
	cfg.MaxConnections = 1
	tree, logs := treetest.Start(t, cfg)
	defer func() { // the assignments actor's side of a failure
		if t.Failed() {
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "actor=assignments") {
					t.Log(l)
				}
			}
		}
	}()
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	if row, _ := tree.Registry().Connection(id); row.ChannelMax != channelMax {
		t.Fatalf("negotiated channel_max %d, want the node's %d", row.ChannelMax, channelMax)
	}
	consumers, waiters := channelMax-1, spawned-(channelMax-1)

	names := make([]string, 0, spawned)
	for i := range spawned {
		spec := listener.Spec{Name: fmt.Sprintf("cm-%02d", i), Queue: listener.QueueSpec{Name: fmt.Sprintf("cm-%02d", i), AutoDelete: true},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}}
		if _, err := tree.SpawnListener(within(t, 10*time.Second), spec); err != nil {
			t.Fatalf("spawn %s: %v", spec.Name, err)
		}
		names = append(names, spec.Name)
	}
	reason := fmt.Sprintf("no channel left on broker %s: channel_max %d reached", id, channelMax)
	var states map[registry.ListenerState]int
	var waiting []registry.Listener
	settled := func() bool {
		states, waiting = listenerStates(tree)
		return states[registry.ListenerConsuming] == consumers && len(waiting) == waiters
	}
	treetest.Eventually(t, tree, 30*time.Second, fmt.Sprintf("%d consuming, %d waiting", consumers, waiters), settled)
	var off []string // the waiting listeners that do not say why, for the failure message
	defer func() {
		if t.Failed() {
			t.Logf("states %v; waiting listeners not saying why: %q; Degraded %q; waiting rows %+v", states, off, tree.Degraded(),
				tree.Registry().AssignmentsIn(registry.Waiting))
		}
	}()
	said := func() bool {
		if !settled() {
			return false
		}
		off = off[:0]
		for _, l := range waiting {
			if l.LastError != reason {
				off = append(off, l.Name+": "+string(l.State)+": "+l.LastError)
			}
		}
		return len(off) == 0 && tree.Degraded() != ""
	}
	treetest.Eventually(t, tree, 10*time.Second, "every waiting listener says why", said)
	if n := ctlCount(t, b, "cm-", "list_consumers", "queue_name"); n != consumers {
		t.Errorf("the broker lists %d consumers, want %d", n, consumers)
	}
	rows := tree.Registry().AssignmentsIn(registry.Waiting)
	if len(rows) != waiters {
		t.Errorf("%d waiting assignments rows, want %d", len(rows), waiters)
	}
	for _, r := range rows {
		if r.Reason != reason || r.Broker != id {
			t.Errorf("waiting row %s: broker %q reason %q, want %q", r.ID, r.Broker, r.Reason, reason)
		}
	}
	wantDegraded := fmt.Sprintf("%d consumers waiting for a channel on %s (channel_max %d reached)", waiters, id, channelMax)
	if got := tree.Degraded(); got != wantDegraded {
		t.Errorf("Degraded() = %q, want %q", got, wantDegraded)
	}
	if !tree.Ready() {
		t.Error("a node that serves 19 of 30 listeners is not ready")
	}
	code, body := readyz(t, tree)
	if code != http.StatusOK || body.Status != "degraded" || body.Degraded != wantDegraded {
		t.Errorf("GET /readyz = %d %+v, want 200 degraded %q", code, body, wantDegraded)
	}
	if families, _ := scrape(t, tree); value(families, "warren_degraded", nil) != 1 {
		t.Error("warren_degraded is not 1")
	}
	t.Logf("channel_max %d, %d listeners: %d consuming, %d waiting (%q); /readyz %d %s %q",
		channelMax, spawned, states[registry.ListenerConsuming], len(waiting), waiting[0].LastError, code, body.Status, body.Degraded)

	// Stop 15 listeners, consuming ones first: the waiting ones get their channels.
	stopping := time.Now()
	for _, name := range names[:stopped] {
		if err := tree.StopListener(within(t, 10*time.Second), name); err != nil {
			t.Fatalf("stop %s: %v", name, err)
		}
	}
	treetest.Eventually(t, tree, 20*time.Second, "every listener left consuming, the node no longer degraded", func() bool {
		states, waiting = listenerStates(tree)
		return states[registry.ListenerConsuming] == spawned-stopped && len(waiting) == 0 && tree.Degraded() == ""
	})
	t.Logf("%d listeners stopped: the %d left all consume %v after the first stop; /readyz no longer degraded",
		stopped, spawned-stopped, time.Since(stopping).Round(time.Millisecond))
	code, body = readyz(t, tree)
	if code != http.StatusOK || body.Status != "ready" || body.Degraded != "" {
		t.Errorf("GET /readyz after the stops = %d %+v, want 200 ready", code, body)
	}
	if families, _ := scrape(t, tree); value(families, "warren_degraded", nil) != 0 {
		t.Error("warren_degraded is not 0 once every listener consumes")
	}
	for _, l := range tree.Registry().Listeners() {
		if l.LastError != "" {
			t.Errorf("listener %s consumes with last error %q", l.Name, l.LastError)
		}
	}
	if n := ctlCount(t, b, "cm-", "list_consumers", "queue_name"); n != spawned-stopped {
		t.Errorf("the broker lists %d consumers after the stops, want %d", n, spawned-stopped)
	}
}
