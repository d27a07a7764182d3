package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

func TestRenderWorkers_SummaryAndTable(t *testing.T) {
	s := supervisor.AdminWorkers{Size: 2, Busy: 1, Calls: 9, Replies: 8, Timeouts: 1, Late: 2, Workers: []registry.RPCWorker{
		{Name: "workers-1", Pool: "workers", State: "ready", Broker: "10.0.0.1:5672", Busy: 1, Calls: 5, Timeouts: 1, Late: 2, MeanMs: 1.25, Queue: "warren@h-warren_worker-workers-1-ab12"},
		{Name: "billing-1", Pool: "billing", State: "waiting", Calls: 4},
	}}
	var b strings.Builder
	if err := renderWorkers(&b, s, palette{}); err != nil {
		t.Fatal(err)
	}
	want := "pool size 2, busy 1, calls 9, replies 8, timeouts 1, late replies 2, errors 0\n" +
		"NAME       POOL     STATE    BROKER         BUSY  CALLS  MEAN  TIMEOUTS  LATE  QUEUE\n" +
		"workers-1  workers  ready    10.0.0.1:5672  1     5      1ms   1         2     warren@h-warren_worker-workers-1-ab12\n" +
		"billing-1  billing  waiting  -              0     4      -     0         0     -\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCall_UsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exchange is required", []string{"call", "--url", "amqp://127.0.0.1/", "{}"}, "--exchange is required"},
		{"payload must be JSON", []string{"call", "--url", "amqp://127.0.0.1/", "--exchange", "x", "{broken"}, "payload: kazoo: malformed JSON"},
		{"collect at least one", []string{"call", "--url", "amqp://127.0.0.1/", "--exchange", "x", "--collect", "0", "{}"}, "--collect 0"},
		{"one payload", []string{"call", "--exchange", "x"}, "takes one PAYLOAD argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := warren(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want usage exit and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestPublish_UsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exchange is required", []string{"publish", "--url", "amqp://127.0.0.1/", "{}"}, "--exchange is required"},
		{"a payload is required", []string{"publish", "--url", "amqp://127.0.0.1/", "--exchange", "x"}, "no payload"},
		{"not both payloads", []string{"publish", "--url", "amqp://127.0.0.1/", "--exchange", "x", "--file", "f", "{}"}, "not both"},
		{"count at least one", []string{"publish", "--url", "amqp://127.0.0.1/", "--exchange", "x", "--count", "0", "{}"}, "--count 0"},
		{"one payload", []string{"publish", "--exchange", "x", "a", "b"}, "at most one PAYLOAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := warren(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want usage exit and %q", code, stderr, tc.want)
			}
		})
	}
}

// A client command gives up after --wait with each broker's own error, not
// a bare deadline.
func TestClientCommands_WaitNamesTheBrokersError(t *testing.T) {
	for _, args := range [][]string{
		{"publish", "--exchange", "x", "--key", "k", "{}"},
		{"call", "--exchange", "x", "--key", "k", "--timeout", "1s", `{"Event-Category":"c","Event-Name":"n"}`},
		{"listen", "--exchange", "x", "--key", "k"},
	} {
		t.Run(args[0], func(t *testing.T) {
			// It gives up at --wait: the only deadline there is (the test
			// gives the command none) is what the error ends with.
			code, _, stderr := warren(t, append(args, "--url", "amqp://guest:s3cret@127.0.0.1:1/", "--wait", "300ms")...)
			if code != exitError || !strings.Contains(stderr, "127.0.0.1:1") || !strings.Contains(stderr, "connection refused") ||
				!strings.Contains(stderr, "not ready") || !strings.Contains(stderr, context.DeadlineExceeded.Error()) ||
				strings.Contains(stderr, "s3cret") {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 naming the refused broker, without the password", code, stderr)
			}
		})
	}
	code, _, stderr := warren(t, "publish", "--url", "amqp://guest:guest@127.0.0.1:1/", "--wait", "0s", "--exchange", "x", "{}")
	if code != exitUsage || !strings.Contains(stderr, "--wait") {
		t.Fatalf("--wait 0s: exit %d, stderr %s", code, stderr)
	}
}

func TestPublish_RefusesWhatWouldBeLostSilently(t *testing.T) {
	url := "amqp://guest:guest@127.0.0.1:1/"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"malformed JSON", []string{"--exchange", "x", `{"a":`}, "not valid JSON"},
		{"empty JSON", []string{"--exchange", "x", ""}, "not valid JSON"},
		{"JSON with a charset", []string{"--exchange", "x", "--content-type", "application/json; charset=utf-8", "nope"}, "not valid JSON"},
		{"mandatory without confirm", []string{"--exchange", "x", "--mandatory", "{}"}, "--mandatory needs --confirm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := warren(t, append([]string{"publish", "--url", url}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant a usage error saying %q", code, stderr, tc.want)
			}
		})
	}
	// --raw and a non-JSON content type send bytes as they are: they get past
	// validation to the broker (here refused: nothing listens on port 1).
	for _, args := range [][]string{{"--raw", "not json"}, {"--content-type", "text/plain", "hello"}} {
		code, _, stderr := warren(t, append([]string{"publish", "--url", url, "--wait", "200ms", "--exchange", "x"}, args...)...)
		if code != exitError || !strings.Contains(stderr, "connection refused") {
			t.Fatalf("%v: exit %d, stderr:\n%s", args, code, stderr)
		}
	}
}

func TestPublishers_PrintsATable(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/publishers": `{"size": 1, "published": 7, "confirmed": 5, "dropped": 1, "resent": 3,
		"publishers": [{"id": "warren/publishers/publishers-1", "pool": "publishers", "broker": "a:5672~publish", "state": "ready", "published": 7, "confirmed": 5, "dropped": 1,
		"in_flight": 2, "confirm_mean_ms": 0.42, "resent": 3}]}`})
	code, stdout, stderr := warren(t, "publishers", "--admin", addr)
	want := "pool size 1, published 7, confirmed 5, nacked 0, returned 0, unconfirmed 0, resent 3, waiting 0, dropped 1\n" +
		"NAME          POOL        STATE  BROKER          PUBLISHED  CONFIRMED  IN FLIGHT  CONFIRM MEAN  NACKED  RETURNED  UNCONFIRMED  RESENT  WAITING  DROPPED\n" +
		"publishers-1  publishers  ready  a:5672~publish  7          5          2          420µs         0       0         0            3       0        1\n"
	if code != exitOK || stdout != want {
		t.Fatalf("warren publishers = %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
}

func TestStatus_PrintsTheSummary(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/status": `{"ready": false, "reason": "no broker of the local zone is available",
		"local_zone": "east", "zones": [{"name": "east", "local": true, "primary": "", "brokers": 2, "available": 0, "draining": ["e1:5672", "e2:5672"]},
		{"name": "west", "local": false, "primary": "w:5672", "brokers": 1, "available": 1}],
		"listeners": {"total": 3, "ready": 1, "failed": 1}, "publishers": {"total": 2, "ready": 0}, "workers": {"total": 4, "ready": 0}}`})
	code, stdout, stderr := warren(t, "status", "--admin", addr)
	want := "not ready (local zone east): no broker of the local zone is available\n" +
		"ZONE  LOCAL  PRIMARY  BROKERS UP  DRAINING\n" +
		"east  yes    -        0/2         e1:5672,e2:5672\n" +
		"west  no     w:5672   1/1         -\n" +
		"listeners 1/3 consuming, 1 failed; publishers 0/2 ready; RPC workers 0/4 ready\n"
	if code != exitNotReady || stdout != want {
		t.Fatalf("warren status = %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
}

// A ready node with consumers waiting for a channel says it is degraded.
func TestStatus_PrintsDegraded(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/status": `{"ready": true, "degraded": "11 consumers waiting for a channel on a:5672 (channel_max 20 reached)",
		"local_zone": "east", "zones": [{"name": "east", "local": true, "primary": "a:5672", "brokers": 1, "available": 1}],
		"listeners": {"total": 30, "ready": 19}, "publishers": {"total": 0, "ready": 0}, "workers": {"total": 0, "ready": 0}}`})
	code, stdout, stderr := warren(t, "status", "--admin", addr)
	want := "ready, degraded (local zone east): 11 consumers waiting for a channel on a:5672 (channel_max 20 reached)\n" +
		"ZONE  LOCAL  PRIMARY  BROKERS UP  DRAINING\n" +
		"east  yes    a:5672   1/1         -\n" +
		"listeners 19/30 consuming; publishers 0/0 ready; RPC workers 0/0 ready\n"
	if code != exitDegraded || stdout != want {
		t.Fatalf("warren status = %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, stdout, want, stderr)
	}
}

// --watch prints the listing again every --interval until its context ends.
func TestShow_WatchPrintsAgainUntilStopped(t *testing.T) {
	var hits atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) >= 4 {
			// The fourth request ends the watch: three answers were
			// printed, and this one is never answered (an answer already
			// on its way when the ctx ends would be printed too).
			cancel()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"size": 0, "publishers": []}`))
	}))
	defer srv.Close()
	code, stdout, stderr := cli{}.run(t, ctx, "publishers", "--admin", strings.TrimPrefix(srv.URL, "http://"), "-w", "--interval", "10ms")
	if code != exitOK || strings.Count(stdout, "pool size 0") != 3 {
		t.Fatalf("watch = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = warren(t, "publishers", "--admin", "127.0.0.1:1", "-w", "--interval", "0s")
	if code != exitUsage || !strings.Contains(stderr, "--interval") {
		t.Fatalf("--interval 0s: %d %s", code, stderr)
	}
}

func TestConnections_ShowsOneByID(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/connections": `[{"id": "a:5672", "role": "consume", "zone": "local", "state": "connected"},
		{"id": "a:5672~publish", "role": "publish", "zone": "local", "state": "connected"}]`})
	code, stdout, stderr := warren(t, "connections", "a:5672~publish", "--admin", addr)
	if code != exitOK || !strings.HasPrefix(stdout, "ID:") || !strings.Contains(stdout, "a:5672~publish\nBroker:") {
		t.Fatalf("one connection = %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = warren(t, "connections", "b:1", "--admin", addr)
	if code != exitError || !strings.Contains(stderr, `no connection "b:1" (there are: a:5672, a:5672~publish)`) {
		t.Fatalf("unknown connection = %d %s", code, stderr)
	}
	// --json with a name prints that item's object alone, as kubectl does.
	code, stdout, stderr = warren(t, "connections", "a:5672~publish", "--admin", addr, "--json")
	var one map[string]any
	if err := json.Unmarshal([]byte(stdout), &one); code != exitOK || err != nil || one["id"] != "a:5672~publish" {
		t.Fatalf("one connection as JSON = %d %v\n%s%s", code, err, stdout, stderr)
	}
	code, _, stderr = warren(t, "connections", "b:1", "--admin", addr, "--json")
	if code != exitError || !strings.Contains(stderr, `no connection "b:1"`) {
		t.Fatalf("unknown connection as JSON = %d %s", code, stderr)
	}
}
