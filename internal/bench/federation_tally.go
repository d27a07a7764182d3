package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fedMessage is the body the federation scenario publishes: a Kazoo event
// carrying which phase of which round it belongs to (Run), its sequence
// number and when it was published, padded to the 256 bytes of body.
type fedMessage struct {
	Category string `json:"Event-Category"`
	Name     string `json:"Event-Name"`
	Run      int64  `json:"Run"`
	Seq      int64  `json:"Seq"`
	Sent     int64  `json:"Sent"` // Unix µs
	Pad      string `json:"Pad"`
}

// fedBody encodes the message seq of run, sent now.
func fedBody(run, seq int64) []byte {
	m := fedMessage{Category: "bench", Name: "fed", Run: run, Seq: seq, Sent: time.Now().UnixMicro()}
	b, _ := json.Marshal(m)
	if n := len(body) - len(b); n > 0 {
		m.Pad = strings.Repeat("x", n)
		b, _ = json.Marshal(m)
	}
	return b
}

// tally counts what one phase's consumer received. It is safe for
// concurrent use by multiple goroutines.
type tally struct {
	run     int64
	mu      sync.Mutex    // guards the fields below
	counts  map[int64]int // Seq -> deliveries
	lat     []time.Duration
	at      []time.Time   // each delivery's arrival
	last    time.Time     // the last first delivery of a Seq
	changed chan struct{} // closed and replaced on every delivery
}

func newTally(run int64) *tally {
	return &tally{run: run, counts: map[int64]int{}, changed: make(chan struct{})}
}

// record notes the delivery of m, arrived at now; a message of another
// run (a late duplicate of a former phase) is ignored.
func (t *tally) record(m fedMessage, now time.Time) {
	if m.Run != t.run {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[m.Seq]++
	t.at = append(t.at, now)
	if t.counts[m.Seq] == 1 {
		t.lat = append(t.lat, now.Sub(time.UnixMicro(m.Sent)))
		t.last = now
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// wait waits until cond, called with t.mu held, holds, or ctx ends.
func (t *tally) wait(ctx context.Context, what string, cond func() bool) error {
	for {
		t.mu.Lock()
		ok, changed := cond(), t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// seen reports whether seq was delivered; t.mu held on entry.
func (t *tally) seen(seq int64) bool { return t.counts[seq] > 0 }

// fedSink hands each consumer's deliveries to the tally of the phase
// running; deliveries between phases are dropped.
type fedSink struct{ cur atomic.Pointer[tally] }

// deliver decodes a delivery's body and records it.
func (s *fedSink) deliver(b []byte) {
	now := time.Now()
	var m fedMessage
	if json.Unmarshal(b, &m) != nil {
		return
	}
	if t := s.cur.Load(); t != nil {
		t.record(m, now)
	}
}
