package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListenersCounts_OnlyWhenAskedFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given Options
		want  []int
	}{
		{"no counts, not named: skipped", Options{}, nil},
		{"no counts, other scenarios named: skipped", Options{Only: []string{"restart"}}, nil},
		{"named without counts: the default", Options{Only: []string{"listeners"}}, []int{DefaultListeners}},
		{"counts, nothing named: every count", Options{Listeners: []int{5000, 20000}}, []int{5000, 20000}},
		{"counts and named", Options{Listeners: []int{50}, Only: []string{"idle", "listeners"}}, []int{50}},
		{"counts, other scenarios named: Only wins", Options{Listeners: []int{50}, Only: []string{"idle"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listenersCounts(tc.given); !slices.Equal(got, tc.want) {
				t.Fatalf("listenersCounts = %v, want %v", got, tc.want)
			}
		})
	}
}

// The listeners scenario with 50 listeners on a node of its own: four rows,
// each side measured, the broker asked after the cold start and after the
// restart (a queue without its consumer fails the run).
func TestRun_ListenersScenarioOnANodeOfItsOwn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	node, stop, err := Node(ctx)
	if err != nil {
		t.Fatal(err) // ErrNoRabbitMQ names the fix
	}
	defer stop()
	rep, err := Run(ctx, Options{URL: node.URI(), Node: node, Only: []string{"listeners"}, Listeners: []int{50},
		Rounds: 1, ExtraRounds: -1})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rep.Scenarios) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rep.Scenarios), rep.Scenarios)
	}
	for _, s := range rep.Scenarios {
		t.Logf("%s: raw %s, warren %s %s", s.Name, Format(s.Raw), Format(s.Warren), s.Unit)
		if !strings.HasPrefix(s.Name, "50 ") || s.Raw <= 0 || s.Warren <= 0 {
			t.Errorf("row %q: raw %v, warren %v: want both measured, for 50 listeners", s.Name, s.Raw, s.Warren)
		}
	}
	if g := rep.Scenarios[2]; g.Unit != "goroutines" || g.Warren < 1.5 || g.Warren > 3 {
		t.Errorf("%s = %v, want about 2 (the forwarder and amqp091's consumer goroutine)", g.Name, g.Warren)
	}
}
