package actors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countedConn counts the writes that reach the socket.
type countedConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// stuckFlush returns a coalescer on one end of a pipe whose flusher is
// inside a socket write of "ab": the peer read the "a" only.
func stuckFlush(t *testing.T) (w *coalescer, sock *countedConn, peer net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	sock = &countedConn{Conn: a}
	w = newCoalescer(sock, nil)
	if _, err := w.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := io.ReadFull(b, one); err != nil || one[0] != 'a' {
		t.Fatalf("read %q, %v; want a", one, err)
	}
	return w, sock, b
}

func TestCoalescer_WritesDuringAFlushShareTheNextSocketWrite(t *testing.T) {
	w, sock, peer := stuckFlush(t)
	var want bytes.Buffer
	want.WriteString("b")
	for i := range 10 {
		rec := fmt.Appendf(nil, "<%d>", i)
		want.Write(rec)
		if n, err := w.Write(rec); err != nil || n != len(rec) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the peer read %q, want %q", got, want.Bytes())
	}
	if n := sock.writes.Load(); n != 2 {
		t.Fatalf("%d socket writes, want 2: the first, then the ten written during it in one", n)
	}
	closeWithin(t, w, 5*time.Second)
}

func TestCoalescer_AWriterWaitingForSpaceFailsWhenTheSocketCloses(t *testing.T) {
	w, sock, _ := stuckFlush(t)
	if _, err := w.Write(make([]byte, coalesceMax)); err != nil { // pending: now full
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := w.Write([]byte("c"))
		waited <- err
	}()
	_ = sock.Conn.Close() // as Link.Abort closes the socket under the coalescer
	select {
	case err := <-waited:
		if err == nil {
			t.Fatal("a write past the pending bytes' cap returned nil while the socket was stuck")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting writer was not released when the socket closed")
	}
	if _, err := w.Write([]byte("d")); err == nil {
		t.Fatal("a write after the socket failed returned nil")
	}
	closeWithin(t, w, 5*time.Second)
}

func TestCoalescer_CloseSendsWhatIsPendingFirst(t *testing.T) {
	w, _, peer := stuckFlush(t)
	w.closeWait = time.Minute // a loaded machine's scheduling is not what this test is about
	if _, err := w.Write([]byte("close-ok")); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer) // until Close closes the socket
		read <- b
	}()
	closeWithin(t, w, 5*time.Second)
	if got := <-read; string(got) != "bclose-ok" {
		t.Fatalf("the peer read %q before the close, want %q", got, "bclose-ok")
	}
	if _, err := w.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write after Close: %v, want net.ErrClosed", err)
	}
}

func TestCoalescer_CloseDoesNotWaitForAPeerThatNeverReads(t *testing.T) {
	w, _, _ := stuckFlush(t)
	if _, err := w.Write([]byte("unread")); err != nil {
		t.Fatal(err)
	}
	closeWithin(t, w, 5*time.Second) // the pipe's write deadline cuts the stuck write
}

// closeWithin closes w and fails t unless Close returns, its flusher
// ended, within d.
func closeWithin(t *testing.T, w *coalescer, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		_ = w.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("Close did not return within %v", d)
	}
}
