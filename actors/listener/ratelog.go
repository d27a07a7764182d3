package listener

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Rate of a listener's failure and rejection logs.
const (
	logBurst  = 10               // lines per window, per kind
	logWindow = 10 * time.Second // the window
)

// rateLog bounds one kind of log line (handler failures, rejections) of one
// listener to logBurst lines per logWindow; what it holds back is counted
// and told in one summary line at the end of the window ("N more handler
// failures in the last 10s"). A message that fails forever thus costs a
// couple of lines a second, not one per delivery. The zero value is ready;
// what names what it counts ("handler failures").
type rateLog struct {
	what string

	mu       sync.Mutex
	start    time.Time // the window's start
	n        int       // lines written in the window
	held     int       // lines held back in the window
	summary  *time.Timer
	now      func() time.Time // time.Now unless a test says otherwise
	interval time.Duration    // logWindow unless a test says otherwise
}

func newRateLog(what string) *rateLog { return &rateLog{what: what} }

// rateLogs are a listener's bounded logs, one per kind, shared by its
// instances (a restart keeps the windows) and each made on first use: most
// listeners never log a failure, and three windows made up front cost
// every idle listener 0.3 KiB (a quarter of what put the idle listener's
// heap past its 8 KiB goal).
type rateLogs struct{ fail, reject, reply lazyRateLog }

type lazyRateLog struct{ p atomic.Pointer[rateLog] }

func (l *lazyRateLog) get(what string) *rateLog {
	if r := l.p.Load(); r != nil {
		return r
	}
	l.p.CompareAndSwap(nil, newRateLog(what))
	return l.p.Load()
}

func (l *rateLogs) failures() *rateLog        { return l.fail.get("handler failures") }
func (l *rateLogs) rejections() *rateLog      { return l.reject.get("rejected payloads") }
func (l *rateLogs) returnedReplies() *rateLog { return l.reply.get("returned replies") }

// Warn logs msg at warning level, if the window allows.
func (r *rateLog) Warn(log *slog.Logger, msg string, args ...any) {
	r.Log(log, slog.LevelWarn, msg, args...)
}

// Error logs msg at error level, if the window allows.
func (r *rateLog) Error(log *slog.Logger, msg string, args ...any) {
	r.Log(log, slog.LevelError, msg, args...)
}

// Log logs msg at level, or counts it for the window's summary.
func (r *rateLog) Log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	if !log.Enabled(context.Background(), level) {
		return
	}
	r.mu.Lock()
	now, window := time.Now(), logWindow
	if r.now != nil {
		now = r.now()
	}
	if r.interval > 0 {
		window = r.interval
	}
	if r.start.IsZero() || now.Sub(r.start) >= window {
		r.flushLocked(log, level)
		r.start, r.n = now, 0
	}
	if r.n < logBurst {
		r.n++
		r.mu.Unlock()
		log.Log(context.Background(), level, msg, args...)
		return
	}
	r.held++
	if r.summary == nil {
		// Told at the end of the window even if nothing else fails.
		r.summary = time.AfterFunc(window-now.Sub(r.start), func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.summary = nil
			r.flushLocked(log, level)
		})
	}
	r.mu.Unlock()
}

// flushLocked writes the summary of the lines held back, if any.
func (r *rateLog) flushLocked(log *slog.Logger, level slog.Level) {
	if r.summary != nil {
		r.summary.Stop()
		r.summary = nil
	}
	if r.held == 0 {
		return
	}
	window := logWindow
	if r.interval > 0 {
		window = r.interval
	}
	log.Log(context.Background(), level, fmt.Sprintf("%d more %s in the last %v", r.held, r.what, window), "held_back", r.held)
	r.held = 0
}
