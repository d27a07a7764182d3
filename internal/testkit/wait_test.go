package testkit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// signal is a change signal for the tests: a channel closed and replaced
// by fire.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

func TestAwaitCtx_RechecksOnlyWhenTheSignalFires(t *testing.T) {
	sig := newSignal()
	var value atomic.Int32
	checked := make(chan int32, 8) // each check, with the value it saw
	done := make(chan error, 1)
	go func() {
		done <- AwaitCtx(Within(t, 5*time.Second), sig.changed, func() bool {
			v := value.Load()
			checked <- v
			return v == 3
		})
	}()
	for i := int32(1); i <= 3; i++ {
		Recv(t, checked, 5*time.Second, "a check") // the waiter checked, then waits
		Quiet(t, checked, "a check without a signal")
		value.Store(i)
		sig.fire()
	}
	if v := Recv(t, checked, 5*time.Second, "the last check"); v != 3 {
		t.Fatalf("last check saw %d, want 3", v)
	}
	if err := Recv(t, done, 5*time.Second, "Await's return"); err != nil {
		t.Fatal(err)
	}
	Quiet(t, checked, "a check after cond held")
}

func TestAwaitCtx_ReturnsTheContextsErrorWhenItEndsFirst(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := AwaitCtx(ctx, newSignal().changed, func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("AwaitCtx = %v, want context.Canceled", err)
	}
}

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) { f.failed = format }

func TestQuiet_FailsOnlyWhenAValueIsWaiting(t *testing.T) {
	ch := make(chan int, 1)
	tb := &fatalTB{TB: t}
	Quiet(tb, ch, "value")
	if tb.failed != "" {
		t.Fatal("Quiet failed on an empty channel")
	}
	ch <- 1
	Quiet(tb, ch, "value")
	if tb.failed == "" {
		t.Fatal("Quiet passed with a value waiting")
	}
}

func TestLogBuffer_ChangedClosesOnTheNextWrite(t *testing.T) {
	var b LogBuffer
	ch := b.Changed()
	Quiet(t, ch, "change before a write")
	if _, err := b.Write([]byte("one\ntwo\n")); err != nil {
		t.Fatal(err)
	}
	Recv(t, ch, time.Second, "change signal after a write")
	if got := b.Tail(1); got != "two" {
		t.Fatalf("Tail(1) = %q, want two", got)
	}
}

func TestLogBuffer_TailWithoutLeavesOutAndCountsTheSkippedLines(t *testing.T) {
	var b LogBuffer
	if _, err := b.Write([]byte("a\n" + dialFailed + " 1\nb\n" + dialFailed + " 2\nc\n")); err != nil {
		t.Fatal(err)
	}
	tail, skipped := b.TailWithout(2, dialFailed)
	if tail != "b\nc" || skipped != 2 {
		t.Fatalf("TailWithout(2) = %q, %d skipped; want \"b\\nc\", 2", tail, skipped)
	}
}
