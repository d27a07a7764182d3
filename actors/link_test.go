package actors

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// stalledLink dials a loopback server that accepts and never reads, so that
// writes stall once the socket buffers are full.
func stalledLink(t *testing.T) (*Link, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	link, dial := newLink(func(network, addr string) (net.Conn, error) { return net.Dial(network, addr) })
	conn, err := dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	t.Cleanup(func() {
		ln.Close()
		conn.Close()
		if server != nil {
			server.Close()
		}
	})
	return link, conn
}

// writeForever writes until the socket fails.
func writeForever(c net.Conn) func() error {
	return func() error {
		buf := make([]byte, 1<<20)
		for {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
	}
}

func TestLink_GuardAbortsAWriteThatOutlivesItsDeadline(t *testing.T) {
	link, conn := stalledLink(t)
	cutByItsDeadline(t, link, conn, link.Guard)
}

// cutByItsDeadline writes on the stalled conn through guard under a 100 ms
// deadline: the write must return, naming the abort and the deadline, with
// link aborted.
func cutByItsDeadline(t *testing.T, link *Link, conn net.Conn, guard func(context.Context, func() error) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// writeForever only returns when the socket fails: the abort by the
	// deadline (both in the error) is what ended it.
	err := guard(ctx, writeForever(conn))
	if !errors.Is(err, ErrLinkAborted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want ErrLinkAborted and the deadline", err)
	}
	if !link.Aborted() {
		t.Fatal("the link does not say it was aborted")
	}
}

func TestLink_WatchdogAbortsAStalledWrite(t *testing.T) {
	link, conn := stalledLink(t)
	stop := make(chan struct{})
	defer close(stop)
	go link.watchdog(50*time.Millisecond, stop)
	done := make(chan error, 1)
	go func() { done <- link.Watch(writeForever(conn)) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLinkAborted) {
			t.Fatalf("err = %v; want ErrLinkAborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write stalled for 5s was not aborted (limit 50ms)")
	}
}

func TestLink_HealthyWritesPassThrough(t *testing.T) {
	link, _ := stalledLink(t)
	stop := make(chan struct{})
	go link.watchdog(20*time.Millisecond, stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	want := errors.New("the write's own error")
	if err := link.Guard(ctx, func() error { return want }); err != want {
		t.Fatalf("Guard = %v, want the write's error", err)
	}
	if err := link.Guard(context.Background(), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	// An idle link is never aborted by its watchdog.
	idle := time.NewTimer(100 * time.Millisecond)
	<-idle.C
	close(stop)
	if link.Aborted() {
		t.Fatal("the watchdog aborted an idle link")
	}
	cancel()
	if err := link.Guard(ctx, func() error { t.Fatal("write ran on an ended ctx"); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Guard on an ended ctx = %v", err)
	}
	var none *Link
	if err := none.Guard(ctx, func() error { return want }); err != want || none.Aborted() {
		t.Fatal("a nil link must pass writes through")
	}
	if err := none.Watch(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	none.Abort()
}

// A WriteGuard watches a ctx once for all the writes made with it, and a
// write stuck on the socket is still cut when its ctx ends.
func TestWriteGuard_OneWatchPerCtxAndAStuckWriteIsCut(t *testing.T) {
	link, conn := stalledLink(t)
	g := link.NewWriteGuard()
	ok := func() error { return nil }
	long, cancelLong := context.WithCancel(context.Background())
	defer cancelLong()
	for range 3 {
		if err := g.Guard(long, ok); err != nil {
			t.Fatal(err)
		}
	}
	first := g.w.Load()
	if err := g.Guard(context.WithValue(long, struct{}{}, 1), ok); err != nil || g.w.Load() != first {
		t.Fatalf("a ctx derived with a value (same Done) watched anew: %v", err)
	}
	cutByItsDeadline(t, link, conn, g.Guard)
	if g.w.Load() == first {
		t.Fatal("a new ctx kept the old watch")
	}
}

// The watch of an earlier ctx never cuts a write made under a later one,
// and a released guard still cuts a stuck write, watching it on its own.
func TestWriteGuard_AnOldCtxCutsNothingAndReleaseKeepsTheGuarantee(t *testing.T) {
	link, conn := stalledLink(t)
	g := link.NewWriteGuard()
	old, cancelOld := context.WithCancel(context.Background())
	if err := g.Guard(old, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	oldWatch := g.w.Load()
	later, cancelLater := context.WithCancel(context.Background())
	defer cancelLater()
	cancelOld()
	// The old ctx's callback runs on a goroutine of its own and may run
	// late, while a write under later is in progress: run it there.
	if err := g.Guard(later, func() error { g.fired(oldWatch); return nil }); err != nil || link.Aborted() {
		t.Fatalf("a write under a live ctx was cut by an ended one: %v", err)
	}
	if err := g.Guard(old, func() error { t.Fatal("written under an ended ctx"); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want the ended ctx's", err)
	}
	g.Release()
	cutByItsDeadline(t, link, conn, g.Guard) // released: watched write by write
}
