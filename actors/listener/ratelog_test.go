package listener

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingHandler records the messages of the records it is given.
type countingHandler struct {
	mu   sync.Mutex
	msgs []string
	done chan struct{} // gets a value per record, if not nil
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	if h.done != nil {
		h.done <- struct{}{}
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

// 10 lines per window, then one summary line for the rest, written when the
// next window starts.
func TestRateLog_BurstThenSummaryOnTheNextLine(t *testing.T) {
	h := &countingHandler{}
	log := slog.New(h)
	c := &clock{now: time.Unix(1_000_000, 0)}
	r := newRateLog("handler failures")
	r.now, r.interval = c.Now, time.Hour // the summary timer stays out of the way
	for range 25 {
		r.Warn(log, "handler failed")
	}
	if n := len(h.lines()); n != logBurst {
		t.Fatalf("%d lines for 25 failures in one window, want %d", n, logBurst)
	}
	c.Add(time.Hour)
	r.Warn(log, "handler failed")
	got := h.lines()
	if len(got) != logBurst+2 || got[logBurst] != "15 more handler failures in the last 1h0m0s" || got[logBurst+1] != "handler failed" {
		t.Fatalf("lines after the window: %q", got[logBurst:])
	}
}

// With nothing failing after the burst, the summary still comes, at the
// end of the window.
func TestRateLog_SummaryAtTheEndOfTheWindow(t *testing.T) {
	h := &countingHandler{done: make(chan struct{}, 32)}
	log := slog.New(h)
	r := newRateLog("rejected payloads")
	r.interval = 50 * time.Millisecond
	for range 12 {
		r.Warn(log, "rejected")
	}
	for range logBurst + 1 {
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("lines so far: %q", h.lines())
		}
	}
	got := h.lines()
	if last := got[len(got)-1]; !strings.HasPrefix(last, "2 more rejected payloads in the last") {
		t.Fatalf("lines: %q", got)
	}
}
