package bench

import (
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
	if len(names) != len(scenarios()) || names[0] != "publish" {
		t.Fatalf("Names = %v", names)
	}
}
