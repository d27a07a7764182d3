package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
)

// serveAdminTest serves tr's admin API on loopback until the test ends.
func serveAdminTest(t *testing.T, tr *Tree, addr string, opts ...AdminOption) *adminServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := tr.serveAdmin(ctx, addr, append(opts, WithAdminUntil(ctx))...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select { // stopped: its connections closed, its token file removed
		case <-s.stopped:
		case <-time.After(2 * adminShutdownGrace):
			t.Errorf("the admin server on %s did not stop within %v", s.addr, 2*adminShutdownGrace)
		}
	})
	return s
}

// A load balancer's health check (HEAD /healthz) gets what a GET gets, and
// no body, on every GET route.
func TestServeAdmin_AnswersHeadOnEveryGetRoute(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	s := serveAdminTest(t, tr, "127.0.0.1:0")
	base := "http://" + s.addr.String()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	paths := []string{"/tree", "/connections", "/channels", "/listeners", "/publishers", "/workers", "/status",
		"/zones", "/metrics", "/healthz", "/readyz", "/ui", "/ui/", "/ui/app.js", "/ui/style.css", "/ui/events"}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			get, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			gres, err := client.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			gres.Body.Close() // the stream's body is not read: closing it ends the stream
			head, _ := http.NewRequestWithContext(ctx, http.MethodHead, base+path, nil)
			hres, err := client.Do(head)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(hres.Body)
			hres.Body.Close()
			if hres.StatusCode != gres.StatusCode || len(body) != 0 {
				t.Fatalf("HEAD %s = %d with %d bytes, want GET's %d with none", path, hres.StatusCode, len(body), gres.StatusCode)
			}
			if hct, gct := hres.Header.Get("Content-Type"), gres.Header.Get("Content-Type"); hct != gct {
				t.Errorf("HEAD %s: Content-Type %q, GET's is %q", path, hct, gct)
			}
		})
	}
	var e AdminError
	if code, body := adminGet(t, tr.AdminHandler(), http.MethodPost, "/healthz", &e); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz = %d %s, want 405", code, body)
	}
}

// A 404 quotes at most a short, escaped prefix of the path; a long one is
// not echoed (a 1 MB path is refused before it reaches the handler).
func TestAdmin_NotFoundDoesNotEchoThePath(t *testing.T) {
	tr := adminTestTree(t)
	long := "/" + strings.Repeat("a", 100_000) + "<script>"
	var e AdminError
	code, body := adminGet(t, tr.AdminHandler(), http.MethodGet, long, &e)
	if code != http.StatusNotFound || len(body) > 1024 || strings.Contains(body, strings.Repeat("a", adminEchoMax+1)) ||
		strings.Contains(body, "<script>") {
		t.Fatalf("GET of a %d-byte path = %d with %d bytes: want a 404 quoting at most %d bytes of it", len(long), code, len(body), adminEchoMax)
	}
	code, body = adminGet(t, tr.AdminHandler(), http.MethodGet, "/no%1bpe", &e)
	if code != http.StatusNotFound || strings.ContainsRune(body, '\x1b') || !strings.Contains(e.Error, `"/no\x1bpe"`) {
		t.Fatalf("GET /no\\x1bpe = %d %s: want the path quoted, escaped", code, body)
	}

	s := serveAdminTest(t, tr, "127.0.0.1:0")
	c, err := net.DialTimeout("tcp", s.addr.String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { // the server may answer and close before it is all written
		_, _ = fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n", strings.Repeat("a", 1<<20), s.addr)
	}()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if res.StatusCode/100 != 4 || len(answer) > 1024 {
		t.Fatalf("GET of a 1 MB path = %d with %d bytes, want a short 4xx", res.StatusCode, len(answer))
	}
}

// The Host check holds for every bind address: 0.0.0.0 answers the bound
// name, loopback names, IP literals and the names allowed, and 421 to
// others (DNS rebinding).
func TestServeAdmin_ChecksTheHostOnAWildcardBind(t *testing.T) {
	tr := adminTestTree(t)
	s := serveAdminTest(t, tr, "0.0.0.0:0", WithAdminAllowHosts("Warren.Example", "proxy.example:8443"))
	_, port, _ := net.SplitHostPort(s.addr.String())
	target := "http://127.0.0.1:" + port
	for host, want := range map[string]int{
		"127.0.0.1:" + port:           http.StatusOK,
		"localhost:" + port:           http.StatusOK,
		"LOCALHOST.:" + port:          http.StatusOK,
		"[::1]:" + port:               http.StatusOK,
		"10.1.2.3:" + port:            http.StatusOK, // an IP cannot be rebound
		"warren.example:" + port:      http.StatusOK,
		"proxy.example":               http.StatusOK,
		"evil.example.com:" + port:    http.StatusMisdirectedRequest,
		"127.0.0.1.nip.io:" + port:    http.StatusMisdirectedRequest,
		"warren.example.evil:" + port: http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest(http.MethodGet, target+"/healthz", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET /healthz with Host %s on a 0.0.0.0 bind: %d %s, want %d", host, res.StatusCode, body, want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if _, err := tr.ServeAdmin(context.Background(), "127.0.0.1:0", WithAdminAllowHosts("bad name")); err == nil {
		t.Error(`WithAdminAllowHosts("bad name") was accepted`)
	}
	if _, err := tr.ServeAdmin(context.Background(), "127.0.0.1:0", WithAdminMaxConns(4), WithAdminMaxStreams(4)); err == nil {
		t.Error("a connection cap not above the stream cap was accepted")
	}
}

// Streams past the cap are answered 503 with a Retry-After; a stream gone
// frees its place.
func TestUI_EventStreamsPastTheCapAre503(t *testing.T) {
	tr := adminTestTree(t)
	ui := newUIServer(tr, 2)
	srv := httptest.NewServer(tr.adminHandler(ui, ""))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, events := openEvents(t, ctx, srv.URL)
	events.next()
	second, events := openEvents(t, ctx, srv.URL)
	events.next()
	defer second.Body.Close()
	res, err := http.Get(srv.URL + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	var e AdminError
	_ = json.NewDecoder(res.Body).Decode(&e)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "10" || e.Error == "" {
		t.Fatalf("a third stream: %d, Retry-After %q, %+v; want 503, 10 and an error", res.StatusCode, res.Header.Get("Retry-After"), e)
	}
	first.Body.Close()
	// The hub's count and the listener's connection states have no change
	// signal: they are polled (testkit.Poll).
	testkit.Poll(t, 5*time.Second, "the first stream's place freed", func() bool {
		ui.hub.mu.Lock()
		defer ui.hub.mu.Unlock()
		return ui.hub.streams == 1
	})
	third, events := openEvents(t, ctx, srv.URL)
	defer third.Body.Close()
	if name, _ := events.next(); name != "reset" {
		t.Fatalf("a stream after one left: first event %q, want reset", name)
	}
}

// Every stream sends the same frames: one snapshot per change of the
// tables, however many streams are open.
func TestUI_StreamsShareOneSnapshotPerChange(t *testing.T) {
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	ui := newUIServer(tr, DefaultAdminMaxStreams)
	ui.hub.tick = time.Hour // no rates: only changes make snapshots
	srv := httptest.NewServer(tr.adminHandler(ui, ""))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 5
	streams := make([]sseReader, n)
	for i := range streams {
		res, events := openEvents(t, ctx, srv.URL)
		defer res.Body.Close()
		if name, _ := events.next(); name != "reset" {
			t.Fatalf("stream %d: first event %q, want reset", i, name)
		}
		streams[i] = events
	}
	if got := ui.hub.snapshots.Load(); got != 1 {
		t.Fatalf("%d streams opened on a quiet tree read %d snapshots, want 1", n, got)
	}
	adminWrite(t, tr, func(w adminTx) error {
		row, _ := w.ConnectionRow("a:5672")
		row.State, row.Available = registry.Disconnected, false
		return w.PutConnection(row)
	})
	var want string
	for i, events := range streams {
		name, up := events.next()
		b, _ := json.Marshal(up)
		if name != "update" || (i > 0 && string(b) != want) {
			t.Fatalf("stream %d: %s %s, want the update the others got: %s", i, name, b, want)
		}
		want = string(b)
	}
	if got := ui.hub.snapshots.Load(); got != 2 {
		t.Fatalf("one change with %d streams open read %d snapshots in all, want 2", n, got)
	}
}

// At the connection cap a new connection takes the place of the one idle
// the longest, or of one that has not sent a whole request.
func TestServeAdmin_ConnectionCapClosesTheIdlest(t *testing.T) {
	tr := adminTestTree(t)
	s := serveAdminTest(t, tr, "127.0.0.1:0", WithAdminMaxConns(3), WithAdminMaxStreams(1))
	defer http.DefaultClient.CloseIdleConnections()
	addr := s.addr.String()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	ask := func(c net.Conn) (*bufio.Reader, error) {
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
			return nil, err
		}
		r := bufio.NewReader(c)
		res, err := http.ReadResponse(r, nil)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		return r, res.Body.Close()
	}
	var idle []*bufio.Reader
	for i := range 3 {
		r, err := ask(dial())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, r)
		// The server marks a connection idle after the client read its
		// answer: wait for the mark, so that the first one asked is the one
		// idle the longest.
		testkit.Poll(t, 5*time.Second, fmt.Sprintf("%d idle connections", i+1), func() bool { return s.ln.count(http.StateIdle) == i+1 })
	}
	if _, err := ask(dial()); err != nil {
		t.Fatalf("a fourth connection at the cap of 3 with three idle: %v", err)
	}
	if _, err := idle[0].ReadByte(); err != io.EOF {
		t.Fatalf("the connection idle the longest: read %v, want EOF (closed for the newcomer)", err)
	}

	// A request begun but not finished (slowloris) is not busy: its
	// connection may go too.
	for range 3 {
		c := dial()
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ask(dial()); err != nil {
		t.Fatalf("a connection at the cap of 3 with three half-sent requests: %v", err)
	}
	if got := s.ln.open(); got > 3 {
		t.Fatalf("%d connections counted, cap 3", got)
	}
}

// When every connection is busy (a request being answered, a stream), a
// new one is closed at once.
func TestCapListener_ClosesANewcomerWhenAllAreBusy(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newCapListener(raw, 2, DiscardLogger())
	defer ln.Close()
	accepted := make(chan net.Conn)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", raw.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	var server []net.Conn
	for range 2 {
		dial()
		c := <-accepted
		ln.track(c, http.StateActive)
		server = append(server, c)
	}
	refused := dial()
	if _, err := refused.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("a connection past the cap of 2 with both busy: read %v, want it closed at once", err)
	}
	ln.track(server[1], http.StateIdle)
	dial()
	<-accepted
	if got := ln.open(); got != 2 {
		t.Fatalf("%d connections counted after one took an idle one's place, want 2", got)
	}
	if _, err := server[1].Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the idle connection: read %v, want it closed for the newcomer", err)
	}
	for _, c := range server {
		c.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
