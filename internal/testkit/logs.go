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

// TailWithout returns the last n lines written that do not contain skip,
// and how many lines it left out for containing it.
func (b *LogBuffer) TailWithout(n int, skip string) (tail string, skipped int) {
	var kept []string
	for line := range strings.SplitSeq(strings.TrimRight(b.String(), "\n"), "\n") {
		if strings.Contains(line, skip) {
			skipped++
			continue
		}
		kept = append(kept, line)
	}
	if len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	return strings.Join(kept, "\n"), skipped
}

// dialFailed marks the log line of a failed dial: a connection actor
// writes one per attempt while its broker is down, which would fill the
// tail a failed test prints.
const dialFailed = `msg="dial failed"`

// Logger returns a debug-level text logger writing to a new LogBuffer
// whose last lines the test prints if it fails, without the failed dials
// (counted).
func Logger(t testing.TB) (*slog.Logger, *LogBuffer) {
	logs := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			tail, dials := logs.TailWithout(80, dialFailed)
			t.Logf("logs (last 80 lines; %d %s lines left out):\n%s", dials, dialFailed, tail)
		}
	})
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs
}
