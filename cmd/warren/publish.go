package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// publishWindow is how many confirmed publishes are in flight at once.
const publishWindow = 256

func newPublishCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publish [PAYLOAD]",
		Short: "Publish a message, or many, through the tree's publishers",
		Long: "publish runs its own supervision tree (brokers from --config or --url) and\n" +
			"publishes PAYLOAD (or the content of --file) to --exchange with --key, --count\n" +
			"times. With --confirm every publish waits for the broker's confirm (pipelined,\n" +
			"256 in flight). It shows progress on a terminal and the rate at the end.\n" +
			"Without --confirm it reports the messages written, which it cannot know arrived\n" +
			"(only the last is confirmed, within --wait, to learn whether the broker reads);\n" +
			"when the broker blocked publishing (a memory or disk alarm) it waits up to --wait\n" +
			"for the block to end and fails if it does not: the broker read none of them.",
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/   # not --url: ps would show the password\n  warren publish --exchange callevt --key call.event.abc '{\"Event-Category\":\"call_event\",\"Event-Name\":\"CHANNEL_ANSWER\"}'\n" +
			"  warren publish --config /etc/kazoo/core/config.ini --exchange kapps --key bench --file event.json --count 100000 --confirm\n" +
			"  warren publish --config /etc/kazoo/core/config.ini --exchange im --key outbound.mms --file mms.json --gzip\n" +
			"  warren publish --config /etc/kazoo/core/config.ini --zone east --exchange callevt --key call.event.x '{...}'   # east's brokers\n" +
			"  warren publish --config /etc/kazoo/core/config.ini --all-zones --confirm --exchange callevt --key call.event.x '{...}'",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{fmt.Errorf("warren publish takes at most one PAYLOAD argument, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.publish(cmd, args) },
	}
	addTreeFlags(cmd)
	addLogFlagsAt(cmd, "warn")
	cmd.Flags().String("exchange", "", "`EXCHANGE` to publish to (\"\" is the default exchange)")
	cmd.Flags().String("key", "", "routing `KEY`")
	cmd.Flags().String("file", "", "read the payload from `FILE` (\"-\" for stdin)")
	cmd.Flags().Int("count", 1, "publish the payload `N` times")
	cmd.Flags().Bool("confirm", false, "wait for the broker's confirm of every message")
	cmd.Flags().Bool("persistent", false, "mark messages persistent (delivery mode 2)")
	cmd.Flags().Bool("mandatory", false, "fail messages the broker cannot route (needs --confirm: only a confirmed publish can learn it)")
	cmd.Flags().Bool("raw", false, "send the payload as it is, even when the content type says JSON and it is not")
	cmd.Flags().String("content-type", "application/json", "message content `TYPE`")
	cmd.Flags().Bool("gzip", false, "compress the payload (content encoding gzip, as Kazoo sends large bodies)")
	cmd.Flags().Bool("all-zones", false, "publish each message once to every zone of --config (--zone picks the one zone otherwise)")
	addTraceFlag(cmd) // trace.go
	return cmd
}

func (a *app) publish(cmd *cobra.Command, args []string) error {
	r, err := readPublishRun(cmd, args)
	if err != nil {
		return err
	}
	t, ctx, stop, err := a.clientTree(cmd, noRPC)
	if err != nil {
		return err
	}
	defer stop()

	progress := a.progress(int64(r.count), &r.done)
	start := time.Now()
	r.run(ctx, t)
	progress()
	took := time.Since(start)
	what, tail := "written", "; not confirmed: use --confirm to know they arrived"
	if r.confirm {
		what, tail = "published and confirmed", ""
	}
	fmt.Fprintf(a.stdout, "%s %d of %s in %v (%.0f msg/s%s)\n", what, r.done.Load(), plural(int64(r.count), "message"),
		elapsed(took), float64(r.done.Load())/max(took.Seconds(), 1e-9), tail)
	if ctx.Err() != nil {
		return errInterrupted
	}
	var blockErr error
	if !r.confirm && r.done.Load()+r.failed.Load() > 0 {
		blockErr = settleBlocked(ctx, t.Registry(), r.wait, r.done.Load())
		if ctx.Err() != nil {
			return errInterrupted
		}
	}
	return errors.Join(r.err(), blockErr)
}

// publishRun is one `warren publish`: what its flags and payload ask for,
// and, once run, what came of it.
type publishRun struct {
	exchange, key string
	body          []byte
	count         int
	confirm       bool
	wait          time.Duration
	opts          []publish.Option

	done, failed atomic.Int64
	errOnce      sync.Once
	firstErr     error
	gaveUp       atomic.Bool // a publish waited out its maximum: the next would too
}

// readPublishRun reads and checks the flags and the payload of cmd; every
// refusal is a usage error naming the flag.
func readPublishRun(cmd *cobra.Command, args []string) (*publishRun, error) {
	f := cmd.Flags()
	r := &publishRun{}
	r.exchange, _ = f.GetString("exchange")
	r.key, _ = f.GetString("key")
	r.count, _ = f.GetInt("count")
	r.confirm, _ = f.GetBool("confirm")
	r.wait, _ = f.GetDuration("wait")
	mandatory, _ := f.GetBool("mandatory")
	if mandatory && !r.confirm {
		return nil, &usageError{errors.New("--mandatory needs --confirm: an unroutable message is reported on its confirm, which a fire-and-forget publish never waits for")}
	}
	if !f.Changed("exchange") {
		return nil, &usageError{errors.New("--exchange is required (give --exchange \"\" for the default exchange)")}
	}
	if r.count < 1 {
		return nil, &usageError{fmt.Errorf("--count %d: must be at least 1", r.count)}
	}
	file, _ := f.GetString("file")
	body, err := readPayload(file, args)
	if err != nil {
		return nil, err
	}
	contentType, _ := f.GetString("content-type")
	if raw, _ := f.GetBool("raw"); !raw && isJSONType(contentType) && !json.Valid(body) {
		return nil, &usageError{fmt.Errorf("the payload is not valid JSON but --content-type is %s: fix it, or give --raw to send it as it is", contentType)}
	}
	r.body = body
	r.opts = []publish.Option{publish.ContentType(contentType)}
	if gz, _ := f.GetBool("gzip"); gz {
		r.body = kazoo.Gzip(body) // once for --count messages
		r.opts = append(r.opts, publish.Gzip(), publish.Encoded())
	}
	persistent, _ := f.GetBool("persistent")
	allZones, _ := f.GetBool("all-zones")
	for _, o := range []struct {
		on  bool
		opt publish.Option
	}{
		{r.confirm, publish.Confirm()},
		{persistent, publish.Persistent()},
		{mandatory, publish.Mandatory()},
		{allZones, publish.ToZone(publish.AllZones)},
	} {
		if o.on {
			r.opts = append(r.opts, o.opt)
		}
	}
	return r, nil
}

// readPayload is the payload of a publish: the argument, or --file's
// content ("-": stdin), never both.
func readPayload(file string, args []string) ([]byte, error) {
	switch {
	case file != "" && len(args) == 1:
		return nil, &usageError{errors.New("give the payload as an argument or with --file, not both")}
	case file == "-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		return b, nil
	case len(args) == 1:
		return []byte(args[0]), nil
	}
	return nil, &usageError{errors.New("no payload: give it as an argument or with --file")}
}

// run publishes the run's count messages through t: one at a time, or
// publishWindow confirmed ones in flight. A publish that gives up on the
// tree (blocked, no channel, stopped) ends the run: the next would too.
func (r *publishRun) run(ctx context.Context, t *supervisor.Tree) {
	workers := 1
	if r.confirm {
		workers = min(r.count, publishWindow)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !r.gaveUp.Load() && ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(r.count) {
					return
				}
				err := publishOne(ctx, t, r.confirm, i == int64(r.count), r.wait, r.exchange, r.key, r.body, r.opts)
				if err == nil {
					r.done.Add(1)
					continue
				}
				r.failed.Add(1)
				r.errOnce.Do(func() { r.firstErr = err })
				if errors.Is(err, publish.ErrBlocked) || errors.Is(err, publish.ErrNoChannel) || errors.Is(err, publish.ErrStopped) {
					r.gaveUp.Store(true)
				}
			}
		})
	}
	wg.Wait()
}

// err sums up the run's failures: how many, how many were not tried after
// them, and the first; nil when every message went out.
func (r *publishRun) err() error {
	if r.firstErr == nil {
		return nil
	}
	if notSent := int64(r.count) - r.done.Load() - r.failed.Load(); notSent > 0 {
		return fmt.Errorf("%s failed, %d not tried after it; the first: %w", plural(r.failed.Load(), "message"), notSent, r.firstErr)
	}
	return fmt.Errorf("%s failed; the first: %w", plural(r.failed.Load(), "message"), r.firstErr)
}

// publishOne publishes one message of a run. Without --confirm the last
// one is confirmed all the same, within wait: its ack comes once the broker
// read what was written before it on the connection, which it does not
// while it blocks publishing (connection.blocked can reach warren after the
// last write of a short run).
func publishOne(ctx context.Context, t *supervisor.Tree, confirm, last bool, wait time.Duration, exchange, key string, body []byte, opts []publish.Option) error {
	if confirm || !last {
		return t.Publish(ctx, exchange, key, body, opts...)
	}
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := t.Publish(lctx, exchange, key, body, append(slices.Clone(opts), publish.Confirm())...)
	if err != nil && ctx.Err() == nil && lctx.Err() != nil {
		return fmt.Errorf("the run's last message, confirmed to learn whether the broker read the run, had no confirm within --wait %v: %w", wait, err)
	}
	return err
}

// blockedConn returns a blocked publishing connection, if any.
func blockedConn(s *registry.Snapshot) (registry.Connection, bool) {
	for _, c := range s.Connections() {
		if c.Role == registry.Publish && c.State == registry.Blocked {
			return c, true
		}
	}
	return registry.Connection{}, false
}

// settleBlocked is called after a fire-and-forget run wrote n messages:
// the broker reads nothing from a connection it blocked (connection.blocked:
// a memory or disk alarm), so while a publishing connection is blocked it
// waits up to wait for the broker to unblock it (it then reads what was
// written) and fails naming connection.blocked when it does not.
func settleBlocked(ctx context.Context, reg *registry.Registry, wait time.Duration, n int64) error {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last registry.Connection
	err := reg.Wait(wctx, func(s *registry.Snapshot) (bool, error) {
		c, ok := blockedConn(s)
		if ok {
			last = c
		}
		return !ok, nil
	})
	if err == nil {
		return nil
	}
	reason := strings.TrimPrefix(last.LastError, "blocked: ")
	if reason == "" {
		reason = "a memory or disk alarm"
	}
	what := "what was written is lost"
	if n > 0 {
		what = fmt.Sprintf("the %s written are lost", plural(n, "message"))
	}
	return fmt.Errorf("the broker blocked publishing (connection.blocked: %s) and had not unblocked after %v: it reads nothing from "+
		"a blocked connection, so %s when warren exits; publish with --confirm to know what arrived", reason, wait, what)
}

// progress draws a progress line on stderr while a terminal watches, for
// counts worth watching; the returned function stops it.
func (a *app) progress(total int64, done *atomic.Int64) func() {
	if total < 1000 || !a.isTTY(a.stderr) {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	draw := func() {
		n := done.Load()
		const width = 30
		filled := int(n * width / total)
		fmt.Fprintf(a.stderr, "\r[%s%s] %d/%d", bar(filled, '#'), bar(width-filled, '.'), n, total)
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				draw()
			case <-stop:
				draw()
				fmt.Fprintln(a.stderr)
				return
			}
		}
	}()
	return func() { close(stop); <-finished }
}

func bar(n int, c byte) string {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// isJSONType reports a JSON content type, parameters aside.
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// plural says "1 message", "2 messages".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
