package main

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/internal/bench"
)

// A row the bench cannot trust has its verdict marked "?" and, under the
// table, a line saying why.
func TestRenderBench_MarksAndExplainsUntrustedRows(t *testing.T) {
	rep := bench.Report{Broker: "127.0.0.1:5672", Rounds: 3, Scenarios: []bench.Scenario{
		{Name: "publish", Unit: "msg/s", Raw: 100, Warren: 98, Ratio: 0.98, Goal: 0.95, GoalOn: "ratio", HigherIsBetter: true,
			RawSpread: "80.0–140", WarrenSpread: "98.0–100", Rounds: 6, Untrusted: "the rounds spread 62% (…), more than the 3% between the figure and its goal"},
		{Name: "consume", Unit: "msg/s", Raw: 100, Warren: 120, Ratio: 1.2, Goal: 0.95, GoalOn: "ratio", HigherIsBetter: true,
			RawSpread: "99.0–101", WarrenSpread: "119–121", Rounds: 3},
	}}
	var b strings.Builder
	if err := renderBench(&b, rep, palette{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	var publish, consume string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "publish "):
			publish = l
		case strings.HasPrefix(l, "consume "):
			consume = l
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(publish), "yes?") || !strings.HasSuffix(strings.TrimSpace(consume), "yes") {
		t.Fatalf("rows:\n%s\nwant publish marked yes?, consume yes", out)
	}
	if !strings.Contains(out, "? publish (6 rounds): the rounds spread 62%") || strings.Contains(out, "? consume") {
		t.Fatalf("no (or a wrong) line saying why publish is untrusted:\n%s", out)
	}
}

// An informational row (no goal) shows "-" for its goal and verdict, and
// a raw figure of 0 (no message lost) as a figure, not as a missing one.
func TestRenderBench_InformationalRowHasNoVerdict(t *testing.T) {
	rep := bench.Report{Broker: "127.0.0.1:5672", Rounds: 3, Scenarios: []bench.Scenario{
		{Name: "lost", Unit: "msgs", Raw: 0, Warren: 2, GoalOn: "ratio", RawSpread: "0.00–0.00", WarrenSpread: "1.00–3.00", Rounds: 3},
	}}
	var b strings.Builder
	if err := renderBench(&b, rep, palette{}); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "lost ") {
			row = l
		}
	}
	f := strings.Fields(row)
	if len(f) != 9 || f[2] != "0.00" || f[6] != "-" || f[7] != "-" || f[8] != "-" {
		t.Fatalf("row %q: want raw 0.00, ratio, goal and verdict \"-\"", row)
	}
}

// --listeners takes counts of at least one listener, and says so before
// any node starts.
func TestBench_ListenersRefusesACountBelowOne(t *testing.T) {
	for _, given := range []string{"0", "5000,-1", "many"} {
		code, _, stderr := warren(t, "bench", "--only", "listeners", "--listeners", given)
		if code != exitUsage || !strings.Contains(stderr, "--listeners") || strings.Contains(stderr, "starting a RabbitMQ node") {
			t.Errorf("--listeners %s: exit %d, stderr %q: want a usage error naming --listeners, and no node", given, code, stderr)
		}
	}
}
