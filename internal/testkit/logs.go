package testkit

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogBuffer collects logs that a test reads while they are written, and
// signals each write. It is safe for concurrent use by multiple goroutines.
type LogBuffer struct {
	Signal            // notified on every write, for Await
	mu     sync.Mutex // guards buf
	buf    bytes.Buffer
}

// Write appends p and wakes the waiters of Changed.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.buf.Write(p)
	b.mu.Unlock()
	b.Notify()
	return n, err
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n lines written.
func (b *LogBuffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Logger returns a debug-level text logger writing to a new LogBuffer
// whose last lines the test prints if it fails.
func Logger(t testing.TB) (*slog.Logger, *LogBuffer) {
	logs := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs (last 60 lines):\n%s", logs.Tail(60))
		}
	})
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs
}
