package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/bench"
)

// warren bench's listeners scenario (issue 25) with 50 listeners on a node
// of the harness, in the scale suite (make unit needs no broker): four rows,
// each side measured, the broker asked after the cold start and after the
// restart (a queue without its consumer fails the run).
func TestScale_BenchListenersScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := StartBroker(t)
	rep, err := bench.Run(ctx, bench.Options{URL: b.URI(), Node: b.node, Only: []string{"listeners"}, Listeners: []int{50},
		Rounds: 1, ExtraRounds: -1})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Scenarios) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rep.Scenarios), rep.Scenarios)
	}
	for _, s := range rep.Scenarios {
		t.Logf("%s: raw %s, warren %s %s", s.Name, bench.Format(s.Raw), bench.Format(s.Warren), s.Unit)
		if !strings.HasPrefix(s.Name, "50 ") || s.Raw <= 0 || s.Warren <= 0 {
			t.Errorf("row %q: raw %v, warren %v: want both measured, for 50 listeners", s.Name, s.Raw, s.Warren)
		}
	}
	if g := rep.Scenarios[2]; g.Unit != "goroutines" || g.Warren < 1.5 || g.Warren > 3 {
		t.Errorf("%s = %v, want about 2 (the forwarder and amqp091's consumer goroutine)", g.Name, g.Warren)
	}
}
