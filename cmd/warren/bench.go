package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/internal/bench"
)

func newBenchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Warren side by side with raw amqp091-go on the same broker",
		Long: "bench runs each scenario for raw amqp091-go and for Warren on one broker in\n" +
			"the same run, interleaved in rounds, and prints the median of each side, the\n" +
			"spread of the rounds, the ratio Warren/raw and the goal. Without --url it starts\n" +
			"a throw-away RabbitMQ node of its own (never the machine's broker).\n" +
			"Scenarios: " + strings.Join(bench.Names(), ", ") + ".\n" +
			"reconnect, restart and listeners kill and restart the node: only without --url.\n" +
			"listeners runs only when asked for (--listeners N[,M...], or --only listeners for\n" +
			"5000): for each N, the time until N listeners consume from a cold start and again\n" +
			"after a restart (against raw consumers over connections of 2,000 channels), and\n" +
			"the heap and goroutines per consuming listener; 20000 takes minutes a round.\n" +
			"On a machine whose cores the broker shares, read the ratios, not the figures.",
		Example: "  warren bench\n  warren bench --only listeners --listeners 5000,20000 --rounds 1\n  warren bench --url amqp://guest:guest@127.0.0.1:5672/ --rounds 5 --only publish,consume\n  warren bench --json > bench.json",
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.bench(cmd) },
	}
	cmd.Flags().String("url", "", "the broker's AMQP `URI` (default: a node of its own)")
	cmd.Flags().Int("rounds", 3, "rounds per scenario")
	cmd.Flags().Int("extra-rounds", 0, "rounds run once more for a scenario whose rounds spread further than the gap between its figure and its goal (default: --rounds; -1: none); a row still spread that far is marked untrusted")
	cmd.Flags().Duration("duration", 2*time.Second, "how long each throughput or latency round runs")
	cmd.Flags().Int("messages", 20000, "messages each consume round drains")
	cmd.Flags().Int("idle", 200, "idle listeners for the memory scenario")
	cmd.Flags().Int("restart", 1000, "listeners of the restart scenario (only on a node of its own)")
	cmd.Flags().IntSlice("listeners", nil, "run the listeners scenario with `N[,M...]` listeners (only on a node of its own; e.g. 5000,20000)")
	cmd.Flags().StringSlice("only", nil, "run only these scenarios (comma-separated)")
	cmd.Flags().Bool("json", false, `print {"scenarios":[{"name","unit","raw","warren","ratio","goal",...}]}`)
	cmd.Flags().Bool("sink", false, "run the publish scenarios against a null broker in a child process (it acks every publish at once): the client's own cost per message, which a broker sharing the cores hides; needs the nullbroker command (make bench-sink builds it)")
	cmd.Flags().String("sink-cmd", "", "the null broker `COMMAND` for --sink (default: nullbroker next to warren, else on $PATH; go build -o bin/nullbroker ./cmd/nullbroker)")
	cmd.Flags().String("cpuprofile", "", "write a CPU profile of each side's first round into `DIR` (<scenario>.<raw|warren>.pprof, for go tool pprof)")
	cmd.Flags().String("svg", "", "also draw the ratios as an SVG bar chart into `FILE` (docs/benchmarks.svg)")
	return cmd
}

func (a *app) bench(cmd *cobra.Command) error {
	var o bench.Options
	o.URL, _ = cmd.Flags().GetString("url")
	o.Rounds, _ = cmd.Flags().GetInt("rounds")
	o.ExtraRounds, _ = cmd.Flags().GetInt("extra-rounds")
	o.Duration, _ = cmd.Flags().GetDuration("duration")
	o.Messages, _ = cmd.Flags().GetInt("messages")
	o.Idle, _ = cmd.Flags().GetInt("idle")
	o.Restart, _ = cmd.Flags().GetInt("restart")
	o.Listeners, _ = cmd.Flags().GetIntSlice("listeners")
	o.Only, _ = cmd.Flags().GetStringSlice("only")
	asJSON, _ := cmd.Flags().GetBool("json")
	svg, _ := cmd.Flags().GetString("svg")
	o.Sink, _ = cmd.Flags().GetBool("sink")
	o.CPUProfile, _ = cmd.Flags().GetString("cpuprofile")
	switch {
	case o.Rounds < 1:
		return &usageError{fmt.Errorf("--rounds %d: at least 1", o.Rounds)}
	case o.Duration <= 0:
		return &usageError{fmt.Errorf("--duration %v: must be positive", o.Duration)}
	case o.Messages < 1 || o.Idle < 1:
		return &usageError{fmt.Errorf("--messages and --idle must be at least 1")}
	}
	for _, n := range o.Listeners {
		if n < 1 {
			return &usageError{fmt.Errorf("--listeners %d: at least 1", n)}
		}
	}
	for _, s := range o.Only {
		if !contains(bench.Names(), s) {
			return &usageError{fmt.Errorf("--only %s: no such scenario (there are: %s)", s, strings.Join(bench.Names(), ", "))}
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	progress := func(line string) {
		if a.isTTY(a.stderr) {
			fmt.Fprintf(a.stderr, "\r\x1b[K%s", line)
		} else {
			fmt.Fprintln(a.stderr, line)
		}
	}
	o.Progress = progress
	switch {
	case o.Sink && o.URL != "":
		return &usageError{errors.New("--sink runs its own null broker: give no --url")}
	case o.Sink:
		if len(o.Only) == 0 {
			o.Only = []string{"publish", "confirmed", "confirmed64"}
		}
		sinkCmd, _ := cmd.Flags().GetString("sink-cmd")
		sinkCmd, err := findNullBroker(sinkCmd)
		if err != nil {
			return err
		}
		uri, stopSink, err := bench.Sink(sinkCmd)
		if err != nil {
			return err
		}
		defer stopSink()
		o.URL = uri
	case o.URL == "":
		progress("starting a RabbitMQ node of its own")
		node, stopNode, err := bench.Node(ctx)
		if err != nil {
			return err
		}
		defer stopNode()
		o.URL, o.Node = node.URI(), node
	}
	rep, err := bench.Run(ctx, o)
	if a.isTTY(a.stderr) {
		fmt.Fprint(a.stderr, "\r\x1b[K")
	}
	if err != nil {
		if ctx.Err() != nil {
			return errInterrupted
		}
		return err
	}
	if svg != "" {
		f, err := os.Create(svg)
		if err != nil {
			return fmt.Errorf("--svg: %w", err)
		}
		if err := bench.SVG(f, rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if asJSON {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		return printJSON(a.stdout, out)
	}
	return renderBench(a.stdout, rep, a.palette(a.stdout))
}

// benchVerdict is a row's goal and whether Warren meets it, as the table
// shows them: "-" and "-" for an informational row.
func benchVerdict(s bench.Scenario, p palette) (goal, met string) {
	if s.Informational() {
		return "-", "-"
	}
	goal = "≥"
	if !s.HigherIsBetter {
		goal = "≤"
	}
	goal += bench.Format(s.Goal)
	if s.GoalOn == "ratio" {
		goal += " raw"
	}
	met = p.paint("no", red)
	if s.Met() {
		met = p.paint("yes", green)
	}
	return goal, met
}

// renderBench prints the report as a table.
func renderBench(w io.Writer, rep bench.Report, p palette) error {
	fmt.Fprintf(w, "broker %s, %d rounds per scenario (median, then min-max of the rounds)\n", rep.Broker, rep.Rounds)
	tw := newTable(w)
	fmt.Fprintln(tw, "SCENARIO\tUNIT\tRAW\tWARREN\tRATIO\tGOAL\tMET")
	for _, s := range rep.Scenarios {
		raw, ratio := "-", "-"
		if s.HasRaw() {
			raw = fmt.Sprintf("%s (%s)", bench.Format(s.Raw), s.RawSpread)
		}
		if s.Raw != 0 {
			ratio = fmt.Sprintf("%.2f", s.Ratio)
		}
		goal, met := benchVerdict(s, p)
		if s.Untrusted != "" {
			met += "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\t%s\t%s\n", s.Name, s.Unit, raw, bench.Format(s.Warren), s.WarrenSpread, ratio, goal, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Scenarios { // the rows marked "?": why they cannot be trusted
		if s.Untrusted != "" {
			fmt.Fprintf(w, "? %s (%d rounds): %s\n", s.Name, s.Rounds, s.Untrusted)
		}
	}
	return nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// findNullBroker is the null broker command --sink runs: given, else
// nullbroker next to this executable, else on $PATH.
func findNullBroker(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if self, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(self), "nullbroker")
		if fi, err := os.Stat(next); err == nil && !fi.IsDir() {
			return next, nil
		}
	}
	if p, err := exec.LookPath("nullbroker"); err == nil {
		return p, nil
	}
	return "", &usageError{errors.New("--sink needs the null broker command, a development tool not shipped in warren: " +
		"go build -o bin/nullbroker ./cmd/nullbroker, then --sink-cmd bin/nullbroker (make bench-sink does both)")}
}
