package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
)

// adminTestTree returns a Tree with no actors behind it: the tests fill its
// registry by hand, as the actors would.
func adminTestTree(t *testing.T) *Tree {
	t.Helper()
	reg, w := registry.New()
	tr := &Tree{env: &actors.Env{Registry: reg, LocalZone: "local", Log: DiscardLogger(),
		Actors: w.Actors, Listeners: w.Listeners, Publishers: w.Publishers, Workers: w.Workers}, done: make(chan struct{})}
	adminWriters.Store(tr, w)
	t.Cleanup(func() { adminWriters.Delete(tr) })
	return tr
}

// adminWriters holds the writers of each adminTestTree's registry: the
// tests write every table by hand, as the tables' owners would.
var adminWriters sync.Map // *Tree -> *registry.Writers

// adminTx writes the tables of an adminTestTree, each row in its own
// commit, through the tables' writers.
type adminTx struct {
	w *registry.Writers
	r *registry.Registry
}

func (tx adminTx) PutActor(a registry.Actor) error         { return tx.w.Actors.PutActor(a) }
func (tx adminTx) PutListener(l registry.Listener) error   { return tx.w.Listeners.PutListener(l) }
func (tx adminTx) PutPublisher(p registry.Publisher) error { return tx.w.Publishers.PutPublisher(p) }
func (tx adminTx) PutWorker(row registry.RPCWorker) error  { return tx.w.Workers.PutWorker(row) }

func (tx adminTx) ConnectionRow(id string) (registry.Connection, bool) { return tx.r.Connection(id) }

func (tx adminTx) PutConnection(c registry.Connection) error {
	return tx.w.Connections.Write(func(w *registry.ConnectionsTx) error { return w.PutConnection(c) })
}

func (tx adminTx) PutAssignment(a registry.Assignment) error {
	return tx.w.Assignments.Write(func(w *registry.AssignmentsTx) error { return w.PutAssignment(a) })
}

func (tx adminTx) DeleteAssignment(id string) error {
	return tx.w.Assignments.Write(func(w *registry.AssignmentsTx) error { return w.DeleteAssignment(id) })
}

func adminWrite(t *testing.T, tr *Tree, fn func(w adminTx) error) {
	t.Helper()
	w, ok := adminWriters.Load(tr)
	if !ok {
		t.Fatal("adminWrite: not a tree of adminTestTree")
	}
	if err := fn(adminTx{w: w.(*registry.Writers), r: tr.Registry()}); err != nil {
		t.Fatalf("registry write: %v", err)
	}
}

// get calls the handler and decodes its JSON answer into v (when not nil).
func adminGet(t *testing.T, h http.Handler, method, path string, v any) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	body := rec.Body.String()
	if v != nil {
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("%s %s: answer is not the expected JSON: %v\n%s", method, path, err, body)
		}
	}
	return rec.Code, body
}

// fillAdminRows writes the rows of a tree connected to one of two brokers.
func fillAdminRows(t *testing.T, tr *Tree) {
	t.Helper()
	adminWrite(t, tr, func(w adminTx) error {
		for _, a := range []registry.Actor{
			{Path: "warren", Name: "warren", Kind: registry.Supervisor, Strategy: "one_for_one 5/10s", Status: registry.Running},
			{Path: "warren/bootstrap", Parent: "warren", Name: "bootstrap", Kind: registry.Worker, Status: registry.Running, Detail: actors.BootstrapReady},
			{Path: "warren/connection_sup", Parent: "warren", Name: "connection_sup", Kind: registry.Supervisor, Strategy: "simple_one_for_one 5/10s", Status: registry.Running},
			{Path: "warren/connection_sup/a:5672", Parent: "warren/connection_sup", Name: "a:5672", Kind: registry.Worker, Status: registry.Running, Restarts: 2},
		} {
			if err := w.PutActor(a); err != nil {
				return err
			}
		}
		for _, c := range []registry.Connection{
			{ID: "a:5672", Zone: "local", Local: true, URI: "amqp://kazoo:s3cret@a:5672/", State: registry.Connected,
				Available: true, Heartbeat: 10 * time.Second, Product: "RabbitMQ", Version: "3.10.8", Since: time.Now()},
			{ID: "b:5672", Zone: "remote", URI: "amqp://kazoo:xxxxx@b:5672/", State: registry.Disconnected, Attempts: 3,
				LastError: "warren: broker b:5672: dial: dial tcp b:5672: connection refused"},
		} {
			if err := w.PutConnection(c); err != nil {
				return err
			}
		}
		for _, a := range []registry.Assignment{
			{ID: "a:5672#1", Channel: "a:5672#1", Broker: "a:5672", Zone: "local", State: registry.Prechannel},
			{ID: "a:5672#2", Channel: "a:5672#2", Broker: "a:5672", Zone: "local", State: registry.Prechannel},
			{ID: "warren/l1", Channel: "a:5672#3", Consumer: "warren/l1", App: "callmgr", Type: registry.Float,
				Broker: "a:5672", Zone: "local", State: registry.Assigned, AssignedAt: time.Now()},
			{ID: "warren/l2", Consumer: "warren/l2", Type: registry.Sticky, Broker: "b:5672", Zone: "remote", State: registry.Waiting},
		} {
			if err := w.PutAssignment(a); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestAdmin_TreeNestsTheActorsUnderWarren(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	var generic map[string]any
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/tree", &generic)
	if code != http.StatusOK {
		t.Fatalf("GET /tree = %d %s", code, body)
	}
	for _, field := range []string{"name", "kind", "status", "restarts", "children"} {
		if _, ok := generic[field]; !ok {
			t.Errorf("GET /tree root lacks %q: %s", field, body)
		}
	}
	var root registry.TreeNode
	adminGet(t, tr.AdminHandler(), http.MethodGet, "/tree", &root)
	if root.Name != "warren" || root.Strategy != "one_for_one 5/10s" || len(root.Children) != 2 {
		t.Fatalf("root = %+v", root)
	}
	sup := root.Children[1]
	if sup.Name != "connection_sup" || len(sup.Children) != 1 || sup.Children[0].Restarts != 2 {
		t.Fatalf("connection_sup = %+v", sup)
	}
	if !strings.Contains(body, `"children": []`) {
		t.Errorf("leaves must carry an empty children array, got:\n%s", body)
	}
}

func TestAdmin_TreeAnswersAChildlessRootBeforeStart(t *testing.T) {
	tr := adminTestTree(t)
	var root registry.TreeNode
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/tree", &root)
	if code != http.StatusOK || root.Name != "warren" || root.Status != "starting" || !strings.Contains(body, `"children": []`) {
		t.Fatalf("GET /tree on an empty registry = %d %s", code, body)
	}
}

func TestAdmin_ConnectionsMaskPasswordsAndCountChannels(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	var conns []AdminConnection
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/connections", &conns)
	if code != http.StatusOK || len(conns) != 2 {
		t.Fatalf("GET /connections = %d %s", code, body)
	}
	if strings.Contains(body, "s3cret") {
		t.Fatalf("GET /connections shows a password:\n%s", body)
	}
	a, b := conns[0], conns[1]
	if a.URI != "amqp://kazoo:xxxxx@a:5672/" {
		t.Errorf("uri = %q, want the password masked", a.URI)
	}
	// Two prechannels + one assigned consumer + the control channel.
	if a.Channels != 4 {
		t.Errorf("a:5672 channels = %d, want 4 (2 prechannels, 1 assigned, 1 control)", a.Channels)
	}
	// A waiting consumer holds no channel, and a down broker has no control channel.
	if b.Channels != 0 {
		t.Errorf("b:5672 channels = %d, want 0", b.Channels)
	}
	if a.Heartbeat != "10s" || b.Attempts != 3 || !strings.Contains(b.LastError, "connection refused") {
		t.Errorf("rows = %+v", conns)
	}
	var generic []map[string]any
	adminGet(t, tr.AdminHandler(), http.MethodGet, "/connections", &generic)
	for _, field := range []string{"id", "uri", "zone", "state", "available", "attempts", "last_error", "channels"} {
		if _, ok := generic[0][field]; !ok {
			t.Errorf("connection lacks %q: %s", field, body)
		}
	}
}

func TestAdmin_ChannelsListEveryAssignmentRow(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	var chans []AdminChannel
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/channels", &chans)
	if code != http.StatusOK || len(chans) != 4 {
		t.Fatalf("GET /channels = %d %s", code, body)
	}
	byConsumer := map[string]AdminChannel{}
	for _, c := range chans {
		byConsumer[c.Consumer] = c
	}
	if l1 := byConsumer["warren/l1"]; l1.ID != "a:5672#3" || l1.State != registry.Assigned || l1.AssignedAt == "" || l1.App != "callmgr" {
		t.Errorf("assigned row = %+v", l1)
	}
	if l2 := byConsumer["warren/l2"]; l2.ID != "" || l2.State != registry.Waiting || l2.Type != registry.Sticky {
		t.Errorf("waiting row = %+v", l2)
	}
	var generic []map[string]any
	adminGet(t, tr.AdminHandler(), http.MethodGet, "/channels", &generic)
	for _, field := range []string{"id", "consumer", "type", "broker", "zone", "state", "reconnect"} {
		if _, ok := generic[0][field]; !ok {
			t.Errorf("channel lacks %q: %s", field, body)
		}
	}
}

func TestAdmin_ChannelsAreInChannelNumberOrder(t *testing.T) {
	tr := adminTestTree(t)
	adminWrite(t, tr, func(w adminTx) error {
		for _, id := range []string{"a:5672#10", "a:5672#2", "a:5672#1"} {
			if err := w.PutAssignment(registry.Assignment{ID: id, Channel: id, Broker: "a:5672", State: registry.Prechannel}); err != nil {
				return err
			}
		}
		return nil
	})
	var chans []AdminChannel
	adminGet(t, tr.AdminHandler(), http.MethodGet, "/channels", &chans)
	var got []string
	for _, c := range chans {
		got = append(got, c.ID)
	}
	if strings.Join(got, " ") != "a:5672#1 a:5672#2 a:5672#10" {
		t.Fatalf("channel order = %v, want #1 #2 #10", got)
	}
}

func TestAdmin_EmptyTablesAreEmptyArrays(t *testing.T) {
	tr := adminTestTree(t)
	for _, path := range []string{"/connections", "/channels"} {
		if _, body := adminGet(t, tr.AdminHandler(), http.MethodGet, path, nil); strings.TrimSpace(body) != "[]" {
			t.Errorf("GET %s on an empty registry = %s, want []", path, body)
		}
	}
}

func TestAdmin_Readyz(t *testing.T) {
	t.Run("answers 503 saying why while no local broker is up", func(t *testing.T) {
		tr := adminTestTree(t)
		adminWrite(t, tr, func(w adminTx) error {
			if err := w.PutActor(registry.Actor{Path: "warren/bootstrap", Parent: "warren", Name: "bootstrap",
				Detail: `waiting for a broker of zone "local"`}); err != nil {
				return err
			}
			return w.PutConnection(registry.Connection{ID: "a:5672", Zone: "local", State: registry.Connecting, Attempts: 2,
				LastError: "warren: broker a:5672: dial: connection refused, was amqp://kazoo:s3cret@a:5672/"})
		})
		var r AdminReadiness
		code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/readyz", &r)
		if code != http.StatusServiceUnavailable || r.Status != "not_ready" {
			t.Fatalf("GET /readyz = %d %s", code, body)
		}
		if r.Reason != `no broker of zone "local" is available` || r.Bootstrap != `waiting for a broker of zone "local"` {
			t.Errorf("readiness = %+v", r)
		}
		if len(r.Brokers) != 1 || !strings.Contains(r.Brokers[0].LastError, "connection refused") {
			t.Errorf("brokers = %+v", r.Brokers)
		}
		if strings.Contains(body, "s3cret") {
			t.Errorf("GET /readyz shows a password:\n%s", body)
		}
	})
	t.Run("answers 503 naming bootstrap while it has not declared", func(t *testing.T) {
		tr := adminTestTree(t)
		adminWrite(t, tr, func(w adminTx) error {
			if err := w.PutActor(registry.Actor{Path: "warren/bootstrap", Name: "bootstrap", Detail: "error: declare targeted: boom"}); err != nil {
				return err
			}
			return w.PutConnection(registry.Connection{ID: "a:5672", Zone: "local", State: registry.Connected, Available: true})
		})
		var r AdminReadiness
		code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/readyz", &r)
		if code != http.StatusServiceUnavailable || r.Reason != "bootstrap: error: declare targeted: boom" {
			t.Fatalf("GET /readyz = %d %s", code, body)
		}
	})
	t.Run("answers 200 once ready", func(t *testing.T) {
		tr := adminTestTree(t)
		fillAdminRows(t, tr)
		var r AdminReadiness
		code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/readyz", &r)
		if code != http.StatusOK || r.Status != "ready" || r.Reason != "" {
			t.Fatalf("GET /readyz = %d %s", code, body)
		}
	})
	t.Run("answers 503 once the tree failed", func(t *testing.T) {
		tr := adminTestTree(t)
		fillAdminRows(t, tr)
		tr.fail(errors.New("warren: supervision tree failed: boom"))
		var r AdminReadiness
		code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/readyz", &r)
		if code != http.StatusServiceUnavailable || !strings.HasPrefix(r.Reason, "tree stopped: ") {
			t.Fatalf("GET /readyz = %d %s", code, body)
		}
	})
}

func TestAdmin_Healthz(t *testing.T) {
	tr := adminTestTree(t)
	var h AdminHealth
	if code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/healthz", &h); code != http.StatusOK || h.Status != "ok" {
		t.Fatalf("GET /healthz on a live tree = %d %s", code, body)
	}
	tr.fail(errors.New("warren: supervision tree failed: boom"))
	if code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/healthz", &h); code != http.StatusServiceUnavailable ||
		h.Status != "failed" || !strings.Contains(h.Error, "boom") {
		t.Fatalf("GET /healthz on a failed tree = %d %s", code, body)
	}
}

func TestAdmin_RejectsUnknownPathsAndMethods(t *testing.T) {
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"unknown path is 404", http.MethodGet, "/nope", http.StatusNotFound},
		{"root is 404", http.MethodGet, "/", http.StatusNotFound},
		{"POST is 405", http.MethodPost, "/tree", http.StatusMethodNotAllowed},
		{"DELETE is 405", http.MethodDelete, "/connections", http.StatusMethodNotAllowed},
	}
	tr := adminTestTree(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e AdminError
			code, body := adminGet(t, tr.AdminHandler(), tc.method, tc.path, &e)
			if code != tc.want || e.Error == "" {
				t.Fatalf("%s %s = %d %s, want %d with an error", tc.method, tc.path, code, body, tc.want)
			}
		})
	}
}

func TestAdminListenAddr(t *testing.T) {
	tests := []struct {
		given, want string
		public      bool
		wantErr     bool
	}{
		{given: "", want: DefaultAdminAddr},
		{given: ":7117", want: "127.0.0.1:7117"},
		{given: ":0", want: "127.0.0.1:0"},
		{given: "127.0.0.1:9000", want: "127.0.0.1:9000"},
		{given: "[::1]:9000", want: "[::1]:9000"},
		{given: "localhost:9000", want: "localhost:9000"},
		{given: "0.0.0.0:9000", want: "0.0.0.0:9000", public: true},
		{given: "10.0.0.5:9000", want: "10.0.0.5:9000", public: true},
		{given: "7117", wantErr: true},
	}
	for _, tc := range tests {
		got, public, err := adminListenAddr(tc.given)
		if (err != nil) != tc.wantErr || got != tc.want || public != tc.public {
			t.Errorf("adminListenAddr(%q) = %q, %v, %v; want %q, %v, err %v", tc.given, got, public, err, tc.want, tc.public, tc.wantErr)
		}
	}
}

func TestServeAdmin_ServesOnLoopbackUntilWithAdminUntilEnds(t *testing.T) {
	tr := adminTestTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := tr.ServeAdmin(context.Background(), ":0", WithAdminUntil(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if ip := addr.(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("ServeAdmin(\":0\") bound %v, want a loopback address", addr)
	}
	res, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("GET /healthz = %d %s", res.StatusCode, body)
	}
	cancel()
	waitAdminStopped(t, addr.String(), 5*time.Second)
}

func TestServeAdmin_StopsWithTheTree(t *testing.T) {
	tr := adminTestTree(t)
	addr, err := tr.ServeAdmin(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr.doneOnce.Do(func() { close(tr.done) })
	waitAdminStopped(t, addr.String(), 5*time.Second)
}

// The README's trap (issue 24, point 1): the only ctx at hand was
// WaitReady's 30 s deadline, and the admin API died with it while the
// service ran on. ServeAdmin's ctx bounds its start only: the server
// answers after that ctx ended, and stops with Shutdown.
func TestServeAdmin_OutlivesItsStartContextAndStopsWithShutdown(t *testing.T) {
	tree := startOffline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	addr, err := tree.ServeAdmin(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	url := "http://" + addr.String() + "/healthz"
	// Still serving once the start's ctx is over, in a second request too
	// (a server stopping would have closed its listener by then).
	for i := range 2 {
		res, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET /healthz #%d after ServeAdmin's ctx ended: %v", i+1, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz #%d after ServeAdmin's ctx ended = %d, want 200", i+1, res.StatusCode)
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := tree.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	waitAdminStopped(t, addr.String(), 5*time.Second)
}

func TestWithAdminUntil_RefusesANilContext(t *testing.T) {
	//lint:ignore SA1012 the nil context is what is tested
	if _, err := adminTestTree(t).ServeAdmin(context.Background(), "127.0.0.1:0", WithAdminUntil(nil)); err == nil || !strings.Contains(err.Error(), "nil context") {
		t.Fatalf("WithAdminUntil(nil) = %v, want an error naming the nil context", err)
	}
}

// waitAdminStopped waits until nothing listens on addr any more: a closed
// listener has no event to wait on, so connecting is retried (testkit.Poll).
func waitAdminStopped(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	testkit.Poll(t, within, "the admin API no longer listening on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

// A page the operator's browser loads from another origin cannot read the
// admin API through a name that resolves to 127.0.0.1: the Host must be the
// served address.
func TestServeAdmin_RejectsAForeignHostHeader(t *testing.T) {
	tr := adminTestTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel() }()
	addr, err := tr.ServeAdmin(ctx, "127.0.0.1:0", WithAdminUntil(ctx))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr.String())
	for host, want := range map[string]int{
		addr.String():              http.StatusOK,
		"localhost:" + port:        http.StatusOK,
		"evil.example.com:" + port: http.StatusMisdirectedRequest,
		"127.0.0.1.nip.io:" + port: http.StatusMisdirectedRequest,
	} {
		// The observer's page and stream too; the stream's body is not
		// read, only its status (closing it ends the stream).
		for _, path := range []string{"/healthz", "/ui", "/ui/events"} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr.String()+path, nil)
			req.Host = host
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if path != "/ui/events" || res.StatusCode != http.StatusOK {
				body, _ = io.ReadAll(res.Body)
			}
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("GET %s with Host %s: %d %s, want %d", path, host, res.StatusCode, body, want)
			}
		}
	}
	cancel()
	waitAdminStopped(t, addr.String(), 5*time.Second)
}

func TestAdminStatus_OfflineTree(t *testing.T) {
	tree := startOffline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := tree.Registry().WaitConnection(ctx, "127.0.0.1:1", func(registry.Connection) bool { return true }); err != nil {
		t.Fatal(err)
	}
	s := tree.adminStatus()
	if s.Ready || s.LocalZone != "local" || len(s.Zones) != 1 {
		t.Fatalf("status %+v", s)
	}
	if z := s.Zones[0]; z.Name != "local" || !z.Local || z.Brokers != 1 || z.Available != 0 || z.Primary != "" {
		t.Fatalf("zone %+v: want local, 1 broker, none up, no primary", z)
	}
	if s.Reason == "" {
		t.Fatalf("status %+v: want a reason", s)
	}
}

func TestAdmin_StatusAndConnectionsShowADrainingBroker(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	adminWrite(t, tr, func(w adminTx) error {
		row, _ := w.ConnectionRow("a:5672")
		row.Draining = true
		return w.PutConnection(row)
	})
	var conns []AdminConnection
	if code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/connections", &conns); code != http.StatusOK || len(conns) != 2 ||
		!conns[0].Draining || conns[1].Draining {
		t.Fatalf("GET /connections = %d %s: want a:5672 draining, b:5672 not", code, body)
	}
	var s AdminStatus
	if code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, "/status", &s); code != http.StatusOK {
		t.Fatalf("GET /status = %d %s", code, body)
	}
	for _, z := range s.Zones {
		want := map[string][]string{"local": {"a:5672"}}[z.Name]
		if !slices.Equal(z.Draining, want) {
			t.Errorf("zone %s draining %v, want %v", z.Name, z.Draining, want)
		}
	}
}
