package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/registry"
)

func TestUI_ServesThePageAndItsEmbeddedFiles(t *testing.T) {
	tr := adminTestTree(t)
	h := tr.AdminHandler()
	tests := []struct{ path, file, ctype string }{
		{"/ui", "index.html", "text/html; charset=utf-8"},
		{"/ui/app.js", "app.js", "text/javascript; charset=utf-8"},
		{"/ui/style.css", "style.css", "text/css; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			want, err := fs.ReadFile(uiFiles, "ui/"+tc.file)
			if err != nil {
				t.Fatalf("%s is not embedded: %v", tc.file, err)
			}
			if rec.Code != http.StatusOK || rec.Body.String() != string(want) {
				t.Fatalf("GET %s = %d, %d bytes; want 200 and the %d bytes of %s", tc.path, rec.Code, rec.Body.Len(), len(want), tc.file)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q: want the page's own scripts only", csp)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/", nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusFound || loc != "../ui" {
		t.Errorf("GET /ui/ = %d to %q, want a redirect to ../ui (the page's links are relative)", rec.Code, loc)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui", nil))
	for _, ref := range []string{`src="ui/app.js"`, `href="ui/style.css"`} {
		if !strings.Contains(rec.Body.String(), ref) {
			t.Errorf("the page does not load %s", ref)
		}
	}
}

func TestUI_IsReadOnlyAndListed(t *testing.T) {
	tr := adminTestTree(t)
	for _, path := range []string{"/ui", "/ui/app.js", "/ui/events"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			var e AdminError
			code, body := adminGet(t, tr.AdminHandler(), method, path, &e)
			if code != http.StatusMethodNotAllowed || !strings.Contains(e.Error, "use GET") {
				t.Errorf("%s %s = %d %s, want 405", method, path, code, body)
			}
		}
	}
	var e AdminError
	if code, _ := adminGet(t, tr.AdminHandler(), http.MethodGet, "/ui/nope.js", &e); code != http.StatusNotFound ||
		!strings.Contains(e.Error, "/ui, /ui/events") {
		t.Errorf("GET /ui/nope.js = %d %q: want 404 listing /ui and /ui/events", code, e.Error)
	}
}

// sseReader reads the events of one GET /ui/events.
type sseReader struct {
	t *testing.T
	r *bufio.Reader
}

func (s sseReader) next() (string, UIUpdate) {
	s.t.Helper()
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading the event stream: %v (event so far %q %q)", err, name, data)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			var up UIUpdate
			if err := json.Unmarshal([]byte(data), &up); err != nil {
				s.t.Fatalf("event %s: %v\n%s", name, err, data)
			}
			if strings.Contains(data, "s3cret") {
				s.t.Fatalf("event %s shows a password:\n%s", name, data)
			}
			return name, up
		}
	}
}

// rowsOf decodes the rows a table diff sets.
func rowsOf[T any](t *testing.T, d *UITableDiff) map[string]T {
	t.Helper()
	out := map[string]T{}
	if d == nil {
		return out
	}
	for _, raw := range d.Set {
		var key struct {
			Key string `json:"key"`
		}
		var row T
		if err := json.Unmarshal(raw, &key); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			t.Fatal(err)
		}
		out[key.Key] = row
	}
	return out
}

// streamEvents serves tr's admin handler and opens GET /ui/events on it,
// both closed at cleanup.
func streamEvents(t *testing.T, tr *Tree) sseReader {
	t.Helper()
	srv := httptest.NewServer(tr.AdminHandler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	res, events := openEvents(t, ctx, srv.URL)
	t.Cleanup(func() { res.Body.Close() })
	return events
}

// openEvents starts GET /ui/events at url; the stream ends with ctx.
func openEvents(t *testing.T, ctx context.Context, url string) (*http.Response, sseReader) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/ui/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET /ui/events = %d %q, want 200 text/event-stream", res.StatusCode, ct)
	}
	return res, sseReader{t: t, r: bufio.NewReader(res.Body)}
}

func TestUI_EventsSendASnapshotThenWhatChanged(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	events := streamEvents(t, tr)

	name, up := events.next()
	if name != "reset" || !up.Reset || up.Status == nil || up.Tree == nil {
		t.Fatalf("first event %s %+v: want a reset with status and tree", name, up)
	}
	conns := rowsOf[UIConnection](t, up.Tables["connections"])
	if a := conns["a:5672"]; a.State != registry.Connected || a.URI != "amqp://kazoo:xxxxx@a:5672/" || a.Channels != 4 {
		t.Fatalf("connection a:5672 in the snapshot = %+v", a)
	}
	if got := len(rowsOf[AdminChannel](t, up.Tables["channels"])); got != 4 {
		t.Fatalf("snapshot has %d channels, want 4", got)
	}

	adminWrite(t, tr, func(w adminTx) error {
		row, _ := w.ConnectionRow("a:5672")
		row.State, row.Available, row.LastError = registry.Disconnected, false, "dial amqp://kazoo:s3cret@a:5672/: connection refused"
		return w.PutConnection(row)
	})
	name, up = events.next()
	if name != "update" || up.Reset {
		t.Fatalf("second event %s: want an update", name)
	}
	conns = rowsOf[UIConnection](t, up.Tables["connections"])
	if len(conns) != 1 || conns["a:5672"].State != registry.Disconnected {
		t.Fatalf("update sets connections %+v: want only a:5672, disconnected", conns)
	}
	if _, ok := up.Tables["channels"]; ok && len(up.Tables["channels"].Set) > 0 {
		// The control channel is gone from the count, not from the channels table.
		t.Errorf("update resends unchanged channels: %+v", up.Tables["channels"])
	}
	var found bool
	for _, e := range up.Timeline {
		if e.Kind == "connection" && e.ID == "a:5672" && e.From == "connected" && e.To == "disconnected" {
			found = strings.Contains(e.Detail, "connection refused")
		}
	}
	if !found {
		t.Fatalf("timeline %+v: want a:5672 connected → disconnected with its error", up.Timeline)
	}

	adminWrite(t, tr, func(w adminTx) error { return w.DeleteAssignment("warren/l2") })
	_, up = events.next()
	if d := up.Tables["channels"]; d == nil || len(d.Del) != 1 || d.Del[0] != "warren/l2" {
		t.Fatalf("update after a delete = %+v, want channels del [warren/l2]", up.Tables)
	}
}

// With 1,000 listeners, an update carries the one row that changed.
func TestUI_EventsSendOnlyTheRowsThatChanged(t *testing.T) {
	tr := adminTestTree(t)
	adminWrite(t, tr, func(w adminTx) error {
		for i := range 1000 {
			name := fmt.Sprintf("l%04d", i)
			if err := w.PutListener(registry.Listener{Path: "warren/listeners/" + name, Name: name, Queue: name,
				State: registry.ListenerConsuming, Bindings: []string{"callmgr/authn.req.*"}}); err != nil {
				return err
			}
		}
		return nil
	})
	events := streamEvents(t, tr)
	if _, up := events.next(); len(up.Tables["listeners"].Set) != 1000 {
		t.Fatalf("the snapshot has %d listeners, want 1000", len(up.Tables["listeners"].Set))
	}
	adminWrite(t, tr, func(w adminTx) error {
		return w.PutListener(registry.Listener{Path: "warren/listeners/l0500", Name: "l0500", Queue: "l0500",
			State: registry.ListenerConsuming, Bindings: []string{"callmgr/authn.req.*"}, Received: 7})
	})
	_, up := events.next()
	got := rowsOf[UIListener](t, up.Tables["listeners"])
	if len(got) != 1 || got["warren/listeners/l0500"].Received != 7 || len(up.Tables) != 1 || up.Tree != nil {
		t.Fatalf("update = %d listener rows %v, tables %v: want only l0500's row", len(got), got, up.Tables)
	}
}

func TestUI_StreamEnds(t *testing.T) {
	run := func(t *testing.T, tr *Tree, ctx context.Context) chan struct{} {
		t.Helper()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			tr.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/events", nil).WithContext(ctx))
		}()
		return done
	}
	wait := func(t *testing.T, done chan struct{}, what string) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("the stream did not end within 5s of %s", what)
		}
	}
	t.Run("when the client goes away", func(t *testing.T) {
		tr := adminTestTree(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := run(t, tr, ctx)
		cancel()
		wait(t, done, "its request's context ending")
	})
	t.Run("when the tree stops", func(t *testing.T) {
		tr := adminTestTree(t)
		done := run(t, tr, context.Background())
		tr.doneOnce.Do(func() { close(tr.done) })
		wait(t, done, "the tree stopping")
	})
	t.Run("when ServeAdmin stops", func(t *testing.T) {
		tr := adminTestTree(t)
		ctx, cancel := context.WithCancel(context.Background())
		addr, err := tr.ServeAdmin(ctx, "127.0.0.1:0", WithAdminUntil(ctx))
		if err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer rcancel()
		res, events := openEvents(t, rctx, "http://"+addr.String())
		defer res.Body.Close()
		events.next()
		cancel()
		// A clean end (no error, before the request's own 10 s) is the
		// server ending the stream: WithAdminUntil's context did.
		if _, err := io.ReadAll(res.Body); err != nil {
			t.Fatalf("the stream broke instead of ending: %v", err)
		}
		waitAdminStopped(t, addr.String(), 5*time.Second)
	})
}

func TestUITimeline(t *testing.T) {
	conn := func(id, state string) uiItem { return uiItem{kind: "connection", id: id, state: state} }
	t.Run("the first snapshot is the baseline", func(t *testing.T) {
		var tl uiTimeline
		tl.observe([]uiItem{conn("a", "connected")}, time.Now())
		if ev, _ := tl.since(0); len(ev) != 0 {
			t.Fatalf("events after the baseline: %+v", ev)
		}
	})
	t.Run("records changes, arrivals, departures and restarts once", func(t *testing.T) {
		var tl uiTimeline
		actor := uiItem{kind: "actor", id: "warren/x", state: "running"}
		tl.observe([]uiItem{conn("a", "connected"), conn("b", "connected"), actor}, time.Now())
		actor.restarts = 1
		next := []uiItem{conn("a", "disconnected"), conn("c", "connecting"), actor}
		tl.observe(next, time.Now())
		tl.observe(next, time.Now()) // a second stream, the same snapshot
		ev, seq := tl.since(0)
		var got []string
		for _, e := range ev {
			got = append(got, fmt.Sprintf("%s %s→%s", e.ID, e.From, e.To))
		}
		want := "a connected→disconnected, c →connecting, warren/x running→restarted, b connected→gone"
		if strings.Join(got, ", ") != want || seq != 4 {
			t.Fatalf("events = %s (seq %d), want %s", strings.Join(got, ", "), seq, want)
		}
		if later, _ := tl.since(2); len(later) != 2 || later[0].Seq != 3 {
			t.Fatalf("since(2) = %+v", later)
		}
	})
	t.Run("many rows making one change are one event", func(t *testing.T) {
		var tl uiTimeline
		var before, after []uiItem
		for i := range 1000 {
			id := fmt.Sprintf("warren/listeners/l%d", i)
			before = append(before, uiItem{kind: "listener", id: id, state: "consuming"})
			after = append(after, uiItem{kind: "listener", id: id, state: "reconnecting"})
		}
		before = append(before, conn("a", "connected"))
		after = append(after, conn("a", "disconnected"))
		tl.observe(before, time.Now())
		tl.observe(after, time.Now())
		ev, _ := tl.since(0)
		if len(ev) != 2 || ev[0].ID != "1000 listeners" || ev[0].To != "reconnecting" || ev[1].ID != "a" {
			t.Fatalf("events = %+v, want a's change and one for the 1000 listeners", ev)
		}
	})
	t.Run("ignores a snapshot older than the last one", func(t *testing.T) {
		var tl uiTimeline
		t0 := time.Now()
		tl.observe([]uiItem{conn("a", "connected")}, t0)
		tl.observe([]uiItem{conn("a", "disconnected")}, t0.Add(2*time.Millisecond))
		tl.observe([]uiItem{conn("a", "connected")}, t0.Add(time.Millisecond)) // read before, observed after
		if ev, _ := tl.since(0); len(ev) != 1 || ev[0].To != "disconnected" {
			t.Fatalf("events = %+v, want only connected → disconnected", ev)
		}
	})
	t.Run("keeps the last uiTimelineSize events", func(t *testing.T) {
		var tl uiTimeline
		tl.observe([]uiItem{conn("a", "s0")}, time.Now())
		for i := 1; i <= uiTimelineSize+50; i++ {
			tl.observe([]uiItem{conn("a", fmt.Sprintf("s%d", i))}, time.Now())
		}
		ev, seq := tl.since(0)
		if len(ev) != uiTimelineSize || ev[0].Seq != 51 || seq != uiTimelineSize+50 {
			t.Fatalf("%d events from seq %d (last %d), want %d from 51", len(ev), ev[0].Seq, seq, uiTimelineSize)
		}
	})
}

func TestQuantile(t *testing.T) {
	cum := map[float64]uint64{0.001: 50, 0.01: 90, 0.1: 100}
	tests := []struct {
		q, want float64
	}{
		{0.5, 0.001},
		{0.7, 0.0055}, // halfway between 1ms and 10ms
		{0.99, 0.091},
		{1, 0.1},
	}
	for _, tc := range tests {
		if got := quantile(cum, 100, tc.q); got < tc.want*0.999 || got > tc.want*1.001 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestUIRates(t *testing.T) {
	r := newUIRates()
	t0 := time.Now()
	r.rate("l:x", 100)
	r.tick(t0)
	if got := r.rate("l:x", 150); got != 0 {
		t.Fatalf("rate before a second tick = %v, want 0", got)
	}
	r.tick(t0.Add(2 * time.Second))
	if got := r.rate("l:x", 150); got != 25 {
		t.Fatalf("rate = %v, want 25/s (50 in 2s)", got)
	}
}

// A drained broker shows in the observer: its connection row carries
// draining, which the connections tables' state column shows next to the
// state, and the zone's line names it.
func TestUI_ConnectionsShowADrainingBroker(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	events := streamEvents(t, tr)
	if _, up := events.next(); rowsOf[UIConnection](t, up.Tables["connections"])["a:5672"].Draining {
		t.Fatal("a:5672 draining before it was drained")
	}
	adminWrite(t, tr, func(w adminTx) error {
		row, _ := w.ConnectionRow("a:5672")
		row.Draining = true
		return w.PutConnection(row)
	})
	_, up := events.next()
	if a, ok := rowsOf[UIConnection](t, up.Tables["connections"])["a:5672"]; !ok || !a.Draining || a.State != registry.Connected {
		t.Fatalf("update sets a:5672 = %+v (ok %v): want connected and draining", a, ok)
	}
	var status AdminStatus
	if err := json.Unmarshal(up.Status, &status); err != nil || len(status.Zones) == 0 || !slices.Equal(status.Zones[0].Draining, []string{"a:5672"}) {
		t.Fatalf("update's status %s (%v): want zone local draining a:5672", up.Status, err)
	}
	js, err := fs.ReadFile(uiFiles, "ui/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"badge('draining')", "r.draining ? `${r.state} (draining)`", "z.draining.join"} {
		if !strings.Contains(string(js), want) {
			t.Errorf("app.js does not show draining: %q missing", want)
		}
	}
}

// The observer's p99 came from a coarse bucket (152–381 ms) and showed
// 272 ms when the slowest call took 166 ms (issue 24, point 10): the
// quantiles are now bounded by the exact maximum, which the page shows.
func TestUILatency_QuantilesNeverPassTheSlowest(t *testing.T) {
	m := newTreeMetrics(adminTestTree(t))
	obs := m.observer()
	const slowest = 166 * time.Millisecond
	for i := range 100 {
		d := slowest - time.Duration(i)*100*time.Microsecond // 156.1 … 166 ms: one bucket
		obs.Call("", d, "ok")
		obs.ConfirmWait(1, 0, "")
		obs.ConfirmWait(-1, d, "acked")
	}
	confirms, calls := m.uiLatency(0)
	for what, l := range map[string]UILatency{"calls": calls, "confirms": confirms} {
		if l.Count != 100 || l.MaxMs != 166 {
			t.Errorf("%s: count %d, max %v ms; want 100 and 166 ms", what, l.Count, l.MaxMs)
		}
		if l.P99Ms > l.MaxMs || l.P50Ms > l.MaxMs || l.P99Ms < 156 {
			t.Errorf("%s: p50 %v ms, p99 %v ms: want both at most the slowest (%v ms), p99 in 156–166", what, l.P50Ms, l.P99Ms, l.MaxMs)
		}
	}
}

// waitConnection waits until the tree's only consuming connection row
// satisfies cond.
func waitConnection(t *testing.T, tree *Tree, what string, cond func(registry.Connection) bool) registry.Connection {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var row registry.Connection
	err := tree.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		for _, c := range s.Connections() {
			if c.Role != registry.Publish {
				row = c
				return cond(c), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("connection %s not reached: %+v", what, row)
	}
	return row
}

// A broker that never answered (issue 24, point 10): its heartbeat was
// never negotiated, so the observer shows "-", not "0s"; and "since" is
// when it went down, which the dials that follow do not move.
func TestUI_ANeverConnectedBrokerShowsNoHeartbeatAndSinceItWentDown(t *testing.T) {
	tree := startOffline(t)
	first := waitConnection(t, tree, "dialled once", func(c registry.Connection) bool { return c.Attempts >= 1 && !c.Since.IsZero() })
	later := waitConnection(t, tree, "dialled twice more", func(c registry.Connection) bool { return c.Attempts >= first.Attempts+2 })
	if !later.Since.Equal(first.Since) {
		t.Errorf("since moved from %v to %v over dials %d..%d: want when it went down", first.Since, later.Since, first.Attempts, later.Attempts)
	}
	var row UIConnection
	for _, c := range tree.uiState(nil).connections {
		if c.ID == later.ID {
			row = c
		}
	}
	if row.Heartbeat != "-" || row.Since != first.Since.Format(adminTime) {
		t.Errorf("observer's row: heartbeat %q since %q; want \"-\" and %s", row.Heartbeat, row.Since, first.Since.Format(adminTime))
	}
}

// The live badge says live once the first snapshot arrived, not when the
// stream opened over tables still empty (issue 24, point 10).
func TestUI_LiveBadgeWaitsForTheFirstSnapshot(t *testing.T) {
	js, err := fs.ReadFile(uiFiles, "ui/app.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(js)
	if !strings.Contains(src, "es.addEventListener('open', () => set('connecting', 'loading'));") ||
		!strings.Contains(src, "apply(JSON.parse(e.data), true); set('live', 'live');") {
		t.Error("app.js: want the badge loading when the stream opens and live after the reset is applied")
	}
}
