// Package bench runs `warren bench`: each scenario for raw amqp091-go and
// for Warren on the same broker in the same run, interleaved in rounds
// (raw first in odd rounds, Warren first in even ones), and reports the
// median of each side, the spread of the rounds and the ratio Warren/raw.
//
// On a machine whose cores the broker shares, absolute figures are noise;
// the ratios are what to read.
package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// Scenario is one line of the report.
type Scenario struct {
	Name           string  `json:"name"`
	Unit           string  `json:"unit"`
	Raw            float64 `json:"raw"`     // median of the rounds; 0 when raw has no counterpart
	Warren         float64 `json:"warren"`  // median of the rounds
	Ratio          float64 `json:"ratio"`   // Warren / raw; 0 without raw
	Goal           float64 `json:"goal"`    // what Warren aims at: a ratio, or a value (GoalOn)
	GoalOn         string  `json:"goal_on"` // "ratio" or "value"
	HigherIsBetter bool    `json:"higher_is_better"`
	RawSpread      string  `json:"raw_spread,omitempty"`    // min–max of the rounds
	WarrenSpread   string  `json:"warren_spread,omitempty"` // min–max of the rounds
}

// Met reports whether Warren meets the scenario's goal.
func (s Scenario) Met() bool {
	v := s.Ratio
	if s.GoalOn == "value" {
		v = s.Warren
	}
	if s.HigherIsBetter {
		return v >= s.Goal
	}
	return v <= s.Goal
}

// Report is what Run returns and `warren bench --json` prints.
type Report struct {
	Broker    string     `json:"broker"` // its id, no credentials
	Rounds    int        `json:"rounds"`
	Scenarios []Scenario `json:"scenarios"`
}

// Options configure Run.
type Options struct {
	URL      string           // the broker's AMQP URI
	Rounds   int              // rounds per scenario; default 3
	Duration time.Duration    // how long a throughput or latency round runs; default 2s
	Messages int              // messages a consume round drains; default 20,000
	Idle     int              // idle listeners for the memory scenario; default 200
	Only     []string         // scenario names to run; all when empty
	Node     *rabbitnode.Node // the node Run may kill and restart (Node); nil with --url: those scenarios are skipped
	Sink     bool             // URL is a null broker (SinkMain): publishes go to no queue
	Restart  int              // listeners of the restart scenario; default 1,000
	Progress func(string)     // called with a line saying what runs; may be nil
	// CPUProfile, when set, is a directory into which the first round of
	// each side of each scenario writes a CPU profile,
	// <scenario>.<raw|warren>.pprof (go tool pprof reads it).
	CPUProfile string
	Log        *slog.Logger // the tree's logger; default: discard
}

func (o *Options) defaults() {
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.Messages <= 0 {
		o.Messages = 20000
	}
	if o.Idle <= 0 {
		o.Idle = 200
	}
	if o.Restart <= 0 {
		o.Restart = 1000
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// scenario pairs raw and Warren measures of one figure; several figures
// can share one measure (latency p50 and p99): measure returns them all.
type scenario struct {
	name    string
	figures []figure
	raw     func(ctx context.Context, e *env) ([]float64, error) // nil: Warren only
	warren  func(ctx context.Context, e *env) ([]float64, error)
	node    bool // kills and restarts the broker: only on a node of its own
	// cpu appends to the side's figures the process's CPU time per message
	// (its first figure is a rate in msg/s): the client's own, the broker
	// being another process.
	cpu bool
}

type figure struct {
	name           string
	unit           string
	goal           float64
	goalOn         string // "ratio" (default) or "value"
	higherIsBetter bool
}

// Run runs the scenarios on the broker of opts.URL.
func Run(ctx context.Context, opts Options) (Report, error) {
	opts.defaults()
	e, err := newEnv(ctx, opts)
	if err != nil {
		return Report{}, err
	}
	defer e.close()
	rep := Report{Broker: e.brokerID, Rounds: opts.Rounds}
	all := allScenarios()
	var run []scenario
	for _, s := range all {
		if len(opts.Only) == 0 || contains(opts.Only, s.name) {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		var names []string
		for _, s := range all {
			names = append(names, s.name)
		}
		return rep, fmt.Errorf("no such scenario %v (there are: %v)", opts.Only, names)
	}
	for i, s := range run {
		if s.node && opts.Node == nil {
			opts.Progress(fmt.Sprintf("[%d/%d] %s: skipped (it restarts the broker: only without --url)", i+1, len(run), s.name))
			continue
		}
		raws := make([][]float64, len(s.figures))
		warrens := make([][]float64, len(s.figures))
		for round := 1; round <= opts.Rounds; round++ {
			sides := []string{"raw", "warren"}
			if round%2 == 0 {
				sides = []string{"warren", "raw"}
			}
			for _, side := range sides {
				f := s.warren
				if side == "raw" {
					f = s.raw
				}
				if f == nil {
					continue
				}
				opts.Progress(fmt.Sprintf("[%d/%d] %s: round %d/%d, %s", i+1, len(run), s.name, round, opts.Rounds, side))
				stopProfile, err := startProfile(opts.CPUProfile, round, s.name, side)
				if err != nil {
					return rep, err
				}
				cpu0, wall0 := cpuTime(), time.Now()
				vals, err := f(ctx, e)
				stopProfile()
				if err != nil {
					return rep, fmt.Errorf("%s (%s, round %d): %w", s.name, side, round, err)
				}
				if s.cpu {
					msgs := vals[0] * time.Since(wall0).Seconds()
					vals = append(vals, float64(cpuTime()-cpu0)/float64(time.Microsecond)/max(msgs, 1))
				}
				for k, v := range vals {
					if side == "raw" {
						raws[k] = append(raws[k], v)
					} else {
						warrens[k] = append(warrens[k], v)
					}
				}
			}
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
		}
		for k, fig := range s.figures {
			on := fig.goalOn
			if on == "" {
				on = "ratio"
			}
			sc := Scenario{Name: fig.name, Unit: fig.unit, Goal: fig.goal, GoalOn: on, HigherIsBetter: fig.higherIsBetter,
				Warren: median(warrens[k]), WarrenSpread: spread(warrens[k])}
			if len(raws[k]) > 0 {
				sc.Raw, sc.RawSpread = median(raws[k]), spread(raws[k])
				if sc.Raw != 0 {
					sc.Ratio = sc.Warren / sc.Raw
				}
			}
			rep.Scenarios = append(rep.Scenarios, sc)
		}
	}
	return rep, nil
}

// startProfile starts the CPU profile of the first round of side in dir,
// if dir is set, and returns what stops it.
func startProfile(dir string, round int, scenario, side string) (func(), error) {
	if dir == "" || round != 1 {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, scenario+"."+side+".pprof"))
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// Names lists the scenarios, for --only.
func Names() []string {
	var out []string
	for _, s := range allScenarios() {
		out = append(out, s.name)
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(xs []float64) string {
	if len(xs) == 0 {
		return ""
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf("%s–%s", format(s[0]), format(s[len(s)-1]))
}

// format prints a figure with as many digits as it needs.
func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Format prints a value of the report the way the table does.
func Format(v float64) string { return format(v) }

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
