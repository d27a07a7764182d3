package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// adminLimitConns and adminLimitStreams are the admin server's default caps,
// which this test attacks.
const (
	adminLimitConns   = supervisor.DefaultAdminMaxConns
	adminLimitStreams = supervisor.DefaultAdminMaxStreams
)

// The admin API of a tree on a real node under the attacks: three
// times its connection cap of idle keep-alive connections leave /healthz
// answering within a second and the process's descriptors bounded; event
// streams past their cap are answered 503 with a Retry-After while a held
// stream keeps receiving the tree's changes. It logs what an idle stream
// costs (goroutines, heap, CPU).
func TestAdmin_LimitsHoldUnderIdleConnectionsAndStreams(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	for i := range 20 { // rows for the streams to hold
		spawnListener(t, tree, listener.Spec{Name: fmt.Sprintf("limits-%d", i),
			Queue: listener.QueueSpec{Name: fmt.Sprintf("admin-limits-%d", i), AutoDelete: true}, Raw: nopHandler})
	}
	addr, err := tree.ServeAdmin(within(t, 5*time.Minute), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := addr.String()
	fresh := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer fresh.CloseIdleConnections()

	// Idle keep-alive connections: each asks once, then holds its connection.
	fds0 := openFDs(t)
	n := 3 * adminLimitConns
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	evicted := 0
	for range n {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", host, err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
			evicted++
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			evicted++ // closed at once: over the cap with nothing to make room
			continue
		}
		_ = resp.Body.Close()
	}
	server := openFDs(t) - fds0 - n // the test's own ends are n descriptors
	start := time.Now()
	resp, err := fresh.Get("http://" + host + "/healthz")
	took := time.Since(start)
	if err != nil {
		t.Fatalf("GET /healthz with %d idle connections held: %v after %v", n, err, took)
	}
	_ = resp.Body.Close()
	t.Logf("%d idle keep-alive connections (%d refused or closed): the server holds %d more descriptors; /healthz answered %d in %v",
		n, evicted, server, resp.StatusCode, took.Round(time.Millisecond))
	if resp.StatusCode != http.StatusOK || took > time.Second {
		t.Errorf("GET /healthz = %d in %v, want 200 within a second", resp.StatusCode, took)
	}
	if limit := adminLimitConns + 16; server > limit {
		t.Errorf("the server holds %d descriptors for %d idle connections: want at most %d (its cap and a few)", server, n, limit)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	conns = conns[:0]
	testkit.Poll(t, 10*time.Second, "the server closing the idle connections", func() bool { return openFDs(t) <= fds0+8 })

	// Event streams: hold the cap's worth, idle.
	ctx, cancel := context.WithCancel(within(t, 2*time.Minute))
	defer cancel()
	g0, heap0 := goroutinesAndHeap()
	streams := make([]*sseStream, 0, adminLimitStreams)
	for range adminLimitStreams {
		s, code, _ := openStream(ctx, t, host)
		if code != http.StatusOK {
			t.Fatalf("stream %d of %d: %d, want 200", len(streams)+1, adminLimitStreams, code)
		}
		if ev := s.next(t, 10*time.Second); ev.name != "reset" {
			t.Fatalf("stream %d: first event %q, want reset", len(streams)+1, ev.name)
		}
		streams = append(streams, s)
	}
	g1, heap1 := goroutinesAndHeap()
	cpu0 := cpuTime()
	window := 3 * time.Second
	time.Sleep(window) // a measurement window of idle streams, not a wait for a condition
	cpu := cpuTime() - cpu0
	t.Logf("%d idle streams: %.1f goroutines of the server and %.1f KiB of heap (both ends) each; the process used %v of CPU in %v",
		len(streams), float64(g1-g0-len(streams))/float64(len(streams)), float64(int64(heap1)-int64(heap0))/1024/float64(len(streams)),
		cpu.Round(time.Millisecond), window)

	// Past the cap: 503 with a Retry-After.
	over, code, retry := openStream(ctx, t, host)
	if over != nil {
		over.close()
	}
	if code != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("stream %d (past the cap of %d): %d with Retry-After %q, want 503 with one", adminLimitStreams+1, adminLimitStreams, code, retry)
	}
	resp, err = fresh.Get("http://" + host + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz with %d streams held: %v", len(streams), err)
	}
	_ = resp.Body.Close()

	// A held stream still follows the tree: a new listener shows up on it.
	_, row := spawnListener(t, tree, listener.Spec{Name: "limits-late",
		Queue: listener.QueueSpec{Name: "admin-limits-late", AutoDelete: true}, Raw: nopHandler})
	held := streams[len(streams)/2]
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := held.next(t, time.Until(deadline))
		if strings.Contains(ev.data, row.Path) {
			break
		}
	}
	for _, s := range streams {
		s.close()
	}
}

// nopHandler is the handler of the test's listeners, which get nothing.
func nopHandler(context.Context, *listener.Delivery) error { return nil }

// sseStream is one GET /ui/events read by the test.
type sseStream struct {
	conn   net.Conn
	r      *bufio.Reader
	events chan sseEvent
}

type sseEvent struct{ name, data string }

// openStream opens GET /ui/events over a connection of its own and returns
// the status and Retry-After; the stream's events arrive on s.events.
func openStream(ctx context.Context, t *testing.T, host string) (*sseStream, int, string) {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		t.Fatalf("dial %s: %v", host, err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /ui/events HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		t.Fatalf("GET /ui/events: %v", err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		_ = c.Close()
		t.Fatalf("GET /ui/events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = c.Close()
		return nil, resp.StatusCode, resp.Header.Get("Retry-After")
	}
	_ = c.SetDeadline(time.Time{})
	s := &sseStream{conn: c, r: bufio.NewReader(resp.Body), events: make(chan sseEvent, 16)}
	go s.read()
	return s, resp.StatusCode, ""
}

func (s *sseStream) read() {
	defer close(s.events)
	var ev sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if ev.name != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// next returns the stream's next event, failing the test after d.
func (s *sseStream) next(t *testing.T, d time.Duration) sseEvent {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no event within %v", d)
		return sseEvent{}
	}
}

func (s *sseStream) close() {
	_ = s.conn.Close()
	for range s.events { //nolint:revive // drain until read returns
	}
}

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting open descriptors needs /proc/self/fd (Linux): %v", err)
	}
	return len(ents)
}

func goroutinesAndHeap() (int, uint64) {
	runtime.GC()
	runtime.GC() // sync.Pool's victims too
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapAlloc
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
