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
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
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
	Rounds         int     `json:"rounds"`                  // rounds run: Options.Rounds, more when the first ones spread too far
	// Untrusted says why the row cannot be trusted, "" when it can: its
	// rounds spread further than the gap between its figure and its goal,
	// so another run could turn its verdict over (see trust).
	Untrusted string `json:"untrusted,omitempty"`
}

// Informational reports whether the row has no goal (Goal 0): a figure to
// read, such as messages lost in a kill test, not a verdict; the table
// shows "-" for its goal and verdict.
func (s Scenario) Informational() bool { return s.Goal == 0 }

// HasRaw reports whether the row has a raw figure, 0 included (the
// rounds of a counterpart were run).
func (s Scenario) HasRaw() bool { return s.RawSpread != "" }

// Met reports whether Warren meets the scenario's goal; an informational
// row has none to meet.
func (s Scenario) Met() bool {
	if s.Informational() {
		return false
	}
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
	URL    string // the broker's AMQP URI
	Rounds int    // rounds per scenario; default 3
	// ExtraRounds are run once more for a scenario one of whose rows is
	// not to be trusted after Rounds (its spread exceeds its gap to the
	// goal); default Rounds, negative for none.
	ExtraRounds int
	Duration    time.Duration    // how long a throughput or latency round runs; default 2s
	Messages    int              // messages a consume round drains; default 20,000
	Idle        int              // idle listeners for the memory scenario; default 200
	Only        []string         // scenario names to run; all when empty
	Node        *rabbitnode.Node // the node Run may kill and restart (Node); nil with --url: those scenarios are skipped
	Sink        bool             // URL is a null broker (SinkMain): publishes go to no queue
	Restart     int              // listeners of the restart scenario; default 1,000
	// Listeners are the counts of the listeners scenario (Node only), one
	// set of rows each; none skips it unless Only names it, which runs
	// DefaultListeners.
	Listeners []int
	Progress  func(string) // called with a line saying what runs; may be nil
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
	if o.ExtraRounds == 0 {
		o.ExtraRounds = o.Rounds
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
	// cpu replaces the side's last value, the number of messages it sent,
	// with the process's CPU time per message over the whole side (setup
	// and the wait for the broker to read its publishes included): the
	// client's own, the broker being another process. It was the CPU time
	// over the rate times the side's wall time, which counted messages
	// never sent for a side whose end waited on the broker.
	cpu bool
}

type figure struct {
	name           string
	unit           string
	goal           float64 // 0: informational, no goal (Scenario.Informational)
	goalOn         string  // "ratio" (default) or "value"
	higherIsBetter bool
}

// Run runs the scenarios on the broker of opts.URL.
func Run(ctx context.Context, opts Options) (Report, error) {
	opts.defaults()
	for _, n := range opts.Listeners {
		if n < 1 {
			return Report{}, fmt.Errorf("bench: %d listeners: at least 1", n)
		}
	}
	e, err := newEnv(ctx, opts)
	if err != nil {
		return Report{}, err
	}
	defer e.close()
	rep := Report{Broker: e.brokerID, Rounds: opts.Rounds}
	all := allScenarios()
	var run []scenario
	for _, s := range all {
		switch {
		case s.name == "listeners": // one per count, and only when asked for
			for _, n := range listenersCounts(opts) {
				run = append(run, listenersScenario(n))
			}
		case len(opts.Only) == 0 || contains(opts.Only, s.name):
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
		rows, err := measure(ctx, e, opts, s, i, len(run))
		if err != nil {
			return rep, err
		}
		rep.Scenarios = append(rep.Scenarios, rows...)
	}
	return rep, nil
}

// measure runs the rounds of scenario s (the i-th of n) and returns its
// rows: opts.Rounds rounds, and opts.ExtraRounds more when a row's rounds
// spread further than its gap to the goal (trust); a row still spread that
// far after them says so (Scenario.Untrusted).
func measure(ctx context.Context, e *env, opts Options, s scenario, i, n int) ([]Scenario, error) {
	raws := make([][]float64, len(s.figures))
	warrens := make([][]float64, len(s.figures))
	rounds := opts.Rounds
	for round := 1; round <= rounds; round++ {
		if err := runRound(ctx, e, opts, s, i, n, round, rounds, raws, warrens); err != nil {
			return nil, err
		}
		if round == opts.Rounds && opts.ExtraRounds > 0 && anyUntrusted(s, raws, warrens, round) {
			opts.Progress(fmt.Sprintf("[%d/%d] %s: the rounds spread more than the gap they measure: %d more", i+1, n, s.name, opts.ExtraRounds))
			rounds += opts.ExtraRounds
		}
	}
	rows := make([]Scenario, 0, len(s.figures))
	for k := range s.figures {
		rows = append(rows, row(s.figures[k], raws[k], warrens[k], rounds))
	}
	return rows, nil
}

// runRound runs round of scenario s (the i-th of n), both sides, the
// side first that did not go first the round before, and appends each
// side's figures to raws and warrens.
func runRound(ctx context.Context, e *env, opts Options, s scenario, i, n, round, rounds int, raws, warrens [][]float64) error {
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
		opts.Progress(fmt.Sprintf("[%d/%d] %s: round %d/%d, %s", i+1, n, s.name, round, rounds, side))
		stopProfile, err := startProfile(opts.CPUProfile, round, s.name, side)
		if err != nil {
			return err
		}
		cpu0 := cpuTime()
		vals, err := f(ctx, e)
		stopProfile()
		if err != nil {
			return fmt.Errorf("%s (%s, round %d): %w", s.name, side, round, err)
		}
		if s.cpu { // the side's last value is how many messages it sent
			msgs := vals[len(vals)-1]
			vals = append(vals[:len(vals)-1], float64(cpuTime()-cpu0)/float64(time.Microsecond)/max(msgs, 1))
		}
		for k, v := range vals {
			if side == "raw" {
				raws[k] = append(raws[k], v)
			} else {
				warrens[k] = append(warrens[k], v)
			}
		}
	}
	return ctx.Err()
}

// row is the report's line of figure fig from its rounds.
func row(fig figure, raws, warrens []float64, rounds int) Scenario {
	on := fig.goalOn
	if on == "" {
		on = "ratio"
	}
	sc := Scenario{Name: fig.name, Unit: fig.unit, Goal: fig.goal, GoalOn: on, HigherIsBetter: fig.higherIsBetter,
		Warren: median(warrens), WarrenSpread: spread(warrens), Rounds: rounds}
	if len(raws) > 0 {
		sc.Raw, sc.RawSpread = median(raws), spread(raws)
		if sc.Raw != 0 {
			sc.Ratio = sc.Warren / sc.Raw
		}
	}
	sc.Untrusted = trust(sc, raws, warrens)
	return sc
}

// anyUntrusted reports whether a row of s is not to be trusted after
// rounds rounds.
func anyUntrusted(s scenario, raws, warrens [][]float64, rounds int) bool {
	for k := range s.figures {
		if row(s.figures[k], raws[k], warrens[k], rounds).Untrusted != "" {
			return true
		}
	}
	return false
}

// trust says why sc, measured by the rounds raws and warrens, cannot be
// trusted, or "" when it can. The rounds' relative spread ((max-min) /
// median, both sides' added for a ratio, whose error is about their sum)
// is the noise of the figure; the gap is how far the figure lies from its
// goal, relatively to the figure as the noise is (a ratio of 0.15 spread by
// 74% reaches 0.26 at most: still far under a goal of 0.5, which a gap
// taken relative to the goal, 70%, would have called untrusted). Noise
// wider than the gap means the verdict (met or
// not) could turn over in another run on the same machine: a loaded
// machine, or a scenario too short for its rate.
func trust(sc Scenario, raws, warrens []float64) string {
	if len(warrens) < 2 || sc.Goal == 0 {
		return ""
	}
	figure, noise, what := sc.Warren, relSpread(warrens), "warren "+sc.WarrenSpread
	if sc.GoalOn == "ratio" {
		if sc.Raw == 0 || len(raws) < 2 {
			return ""
		}
		figure, noise = sc.Ratio, noise+relSpread(raws)
		what = "raw " + sc.RawSpread + ", " + what
	}
	if figure == 0 {
		return ""
	}
	gap := math.Abs(figure-sc.Goal) / math.Abs(figure)
	// Rounds within 1 % of each other are as tight as a measure of this
	// machine gets: such a row is trusted even with its figure on the goal
	// (2.00 goroutines a listener against 2, one round at 2.005).
	if noise <= gap || noise < minNoise {
		return ""
	}
	return fmt.Sprintf("the rounds spread %.0f%% (%s), more than the %.0f%% between the figure and its goal", noise*100, what, gap*100)
}

// minNoise is the spread of rounds under which a row is trusted whatever
// its gap (see trust).
const minNoise = 0.01

// relSpread is (max - min) / median of xs, 0 for a median of 0.
func relSpread(xs []float64) float64 {
	m := median(xs)
	if m == 0 {
		return 0
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	return (hi - lo) / math.Abs(m)
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
