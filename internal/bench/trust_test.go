package bench

import (
	"context"
	"strings"
	"testing"
)

// A row is untrusted when its rounds spread further than the gap between
// its figure and its goal, and trusted when the gap is the wider.
func TestTrust_SpreadAgainstTheGapToTheGoal(t *testing.T) {
	ratio := figure{name: "publish", unit: "msg/s", goal: 0.95, higherIsBetter: true}
	lowRatio := figure{name: "channel", unit: "µs", goal: 0.5}
	value := figure{name: "idle heap", unit: "KiB", goal: 8, goalOn: "value"}
	for _, tc := range []struct {
		name           string
		fig            figure
		raws, warrens  []float64
		untrusted      bool
		mentionsSpread string
	}{
		{"tight rounds, ratio well past the goal", ratio, []float64{100, 101, 99}, []float64{120, 121, 119}, false, ""},
		{"tight rounds, ratio well short of the goal", ratio, []float64{100, 101, 99}, []float64{60, 61, 59}, false, ""},
		{"rounds spread 60%, ratio 3% past the goal", ratio, []float64{100, 140, 80}, []float64{98, 100, 99}, true, "raw 80.0–140"},
		{"a ratio far under a lower-is-better goal, spread less than its own gap", lowRatio, []float64{452, 382, 469}, []float64{67.7, 64.3, 102}, false, ""},
		{"a ratio just under a lower-is-better goal, spread past it", lowRatio, []float64{100, 130, 90}, []float64{45, 46, 44}, true, "raw 90.0–130"},
		{"one round: nothing to compare", ratio, []float64{100}, []float64{50}, false, ""},
		{"value goal, tight", value, nil, []float64{7, 7.1, 6.9}, false, ""},
		{"value goal, spread across the goal", value, nil, []float64{5, 7.5, 11}, true, "warren 5.00–11.0"},
		{"value goal met exactly, rounds within 1%", figure{name: "idle goroutines", unit: "goroutines", goal: 2, goalOn: "value"}, nil, []float64{2, 2, 2.005}, false, ""},
		{"value goal met exactly, rounds 2% apart", figure{name: "idle goroutines", unit: "goroutines", goal: 2, goalOn: "value"}, nil, []float64{2, 2, 2.04}, true, "warren 2.00–2.04"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := row(tc.fig, tc.raws, tc.warrens, len(tc.warrens))
			if got := sc.Untrusted != ""; got != tc.untrusted {
				t.Fatalf("Untrusted = %q; want untrusted %v", sc.Untrusted, tc.untrusted)
			}
			if tc.untrusted && !strings.Contains(sc.Untrusted, tc.mentionsSpread) {
				t.Fatalf("Untrusted = %q; want it to show %q", sc.Untrusted, tc.mentionsSpread)
			}
		})
	}
}

// scripted is a scenario side returning the next of its values each round.
func scripted(vals ...float64) func(context.Context, *env) ([]float64, error) {
	i := 0
	return func(context.Context, *env) ([]float64, error) {
		v := vals[i%len(vals)]
		i++
		return []float64{v}, nil
	}
}

// A scenario whose rounds spread further than its gap gets ExtraRounds
// more; one that is tight keeps its Rounds; with ExtraRounds negative none
// are added and the row says it cannot be trusted.
func TestMeasure_RunsMoreRoundsWhenTheSpreadExceedsTheGap(t *testing.T) {
	fig := []figure{{name: "publish", unit: "msg/s", goal: 0.95, higherIsBetter: true}}
	tight := scenario{name: "tight", figures: fig, raw: scripted(100, 101, 99), warren: scripted(120, 121, 119)}
	noisy := scenario{name: "noisy", figures: fig, raw: scripted(100, 140, 80, 100, 100, 100), warren: scripted(98, 100, 99)}
	opts := Options{Rounds: 3}
	opts.defaults()

	rows, err := measure(context.Background(), nil, opts, tight, 0, 1)
	if err != nil || len(rows) != 1 || rows[0].Rounds != 3 || rows[0].Untrusted != "" {
		t.Fatalf("tight: %+v, %v; want 3 rounds, trusted", rows, err)
	}
	rows, err = measure(context.Background(), nil, opts, noisy, 0, 1)
	if err != nil || len(rows) != 1 || rows[0].Rounds != 6 {
		t.Fatalf("noisy: %+v, %v; want 3 more rounds (6)", rows, err)
	}
	opts.ExtraRounds = -1
	noisy.raw = scripted(100, 140, 80)
	rows, err = measure(context.Background(), nil, opts, noisy, 0, 1)
	if err != nil || rows[0].Rounds != 3 || rows[0].Untrusted == "" {
		t.Fatalf("noisy without extra rounds: %+v, %v; want 3 rounds, untrusted", rows, err)
	}
}
