package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestFedBody_IsAKazooEventOfTheScenariosSize(t *testing.T) {
	b := fedBody(7, 42)
	if len(b) != len(body) {
		t.Fatalf("fedBody is %d bytes, want %d like the other scenarios' body", len(b), len(body))
	}
	var m fedMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Category != "bench" || m.Run != 7 || m.Seq != 42 || time.Since(time.UnixMicro(m.Sent)) > time.Minute {
		t.Fatalf("fedBody decodes as %+v", m)
	}
}

func TestTally_CountsDuplicatesAndIgnoresOtherRuns(t *testing.T) {
	var s fedSink
	s.deliver(fedBody(1, 0)) // between phases: dropped
	tl := newTally(1)
	s.cur.Store(tl)
	for _, b := range [][]byte{fedBody(1, 0), fedBody(1, 1), fedBody(1, 1), fedBody(2, 5), []byte("not json")} {
		s.deliver(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tl.wait(ctx, "two messages", func() bool { return tl.seen(0) && tl.seen(1) }); err != nil {
		t.Fatal(err)
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.counts) != 2 || tl.counts[1] != 2 || len(tl.lat) != 2 || len(tl.at) != 3 {
		t.Fatalf("counts %v, %d latencies, %d arrivals: want seq 1 twice, 2 latencies, 3 arrivals", tl.counts, len(tl.lat), len(tl.at))
	}
}
