package bench

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestMedianAndSpread(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if s := spread([]float64{1500.4, 120, 9.5}); s != "9.50–1500" {
		t.Errorf("spread = %q", s)
	}
}

func TestScenario_MetReadsTheGoalTheRightWay(t *testing.T) {
	for _, tc := range []struct {
		s    Scenario
		want bool
	}{
		{Scenario{Raw: 100, Warren: 96, Ratio: 0.96, Goal: 0.95, GoalOn: "ratio", HigherIsBetter: true}, true},
		{Scenario{Raw: 100, Warren: 90, Ratio: 0.90, Goal: 0.95, GoalOn: "ratio", HigherIsBetter: true}, false},
		{Scenario{Raw: 100, Warren: 120, Ratio: 1.2, Goal: 1.15, GoalOn: "ratio"}, false},
		{Scenario{Raw: 2, Warren: 7.5, Ratio: 3.75, Goal: 8, GoalOn: "value"}, true},
	} {
		if got := tc.s.Met(); got != tc.want {
			t.Errorf("%+v: Met = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestNames_AreTheScenarios(t *testing.T) {
	names := Names()
	if len(names) != len(allScenarios()) || names[0] != "publish" || names[len(names)-1] != "listeners" {
		t.Fatalf("Names = %v", names)
	}
}

func TestSVG_OneBarPerRatioScenario(t *testing.T) {
	rep := Report{Broker: "127.0.0.1:5672", Rounds: 3, Scenarios: []Scenario{
		{Name: "publish", Raw: 100, Warren: 96, Ratio: 0.96, Goal: 0.95, GoalOn: "ratio", HigherIsBetter: true},
		{Name: "rpc p50", Raw: 100, Warren: 120, Ratio: 1.2, Goal: 1.15, GoalOn: "ratio"},
		{Name: "idle heap", Raw: 2, Warren: 7, Ratio: 3.5, Goal: 8, GoalOn: "value"},
	}}
	var b strings.Builder
	if err := SVG(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "<rect") != 2 || !strings.Contains(out, "0.96× raw") || !strings.Contains(out, "0.83× raw") || !strings.HasPrefix(out, "<svg") {
		t.Fatalf("svg:\n%s", out)
	}
}
