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
	cmd.Flags().Bool("all-zones", false, "publish each message once to every zone of --config (--zone picks the one zone otherwise)")
	return cmd
}

func (a *app) publish(cmd *cobra.Command, args []string) error {
	exchange, _ := cmd.Flags().GetString("exchange")
	key, _ := cmd.Flags().GetString("key")
	file, _ := cmd.Flags().GetString("file")
	count, _ := cmd.Flags().GetInt("count")
	confirm, _ := cmd.Flags().GetBool("confirm")
	persistent, _ := cmd.Flags().GetBool("persistent")
	mandatory, _ := cmd.Flags().GetBool("mandatory")
	contentType, _ := cmd.Flags().GetString("content-type")
	raw, _ := cmd.Flags().GetBool("raw")
	allZones, _ := cmd.Flags().GetBool("all-zones")
	if mandatory && !confirm {
		return &usageError{errors.New("--mandatory needs --confirm: an unroutable message is reported on its confirm, which a fire-and-forget publish never waits for")}
	}
	if !cmd.Flags().Changed("exchange") {
		return &usageError{errors.New("--exchange is required (give --exchange \"\" for the default exchange)")}
	}
	if count < 1 {
		return &usageError{fmt.Errorf("--count %d: must be at least 1", count)}
	}
	var body []byte
	switch {
	case file != "" && len(args) == 1:
		return &usageError{errors.New("give the payload as an argument or with --file, not both")}
	case file == "-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		body = b
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		body = b
	case len(args) == 1:
		body = []byte(args[0])
	default:
		return &usageError{errors.New("no payload: give it as an argument or with --file")}
	}
	if !raw && isJSONType(contentType) && !json.Valid(body) {
		return &usageError{fmt.Errorf("the payload is not valid JSON but --content-type is %s: fix it, or give --raw to send it as it is", contentType)}
	}
	opts := []publish.Option{publish.ContentType(contentType)}
	if confirm {
		opts = append(opts, publish.Confirm())
	}
	if persistent {
		opts = append(opts, publish.Persistent())
	}
	if mandatory {
		opts = append(opts, publish.Mandatory())
	}
	if allZones {
		opts = append(opts, publish.ToZone(publish.AllZones))
	}

	t, ctx, stop, err := a.clientTree(cmd, noRPC)
	if err != nil {
		return err
	}
	defer stop()

	var done, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var gaveUp atomic.Bool // a publish waited out its maximum: the next would too
	wait, _ := cmd.Flags().GetDuration("wait")
	progress := a.progress(int64(count), &done)
	start := time.Now()
	workers := 1
	if confirm {
		workers = min(count, publishWindow)
	}
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !gaveUp.Load() && ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(count) {
					return
				}
				if err := publishOne(ctx, t, confirm, i == int64(count), wait, exchange, key, body, opts); err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
					if errors.Is(err, publish.ErrBlocked) || errors.Is(err, publish.ErrNoChannel) || errors.Is(err, publish.ErrStopped) {
						gaveUp.Store(true)
					}
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	progress()
	took := time.Since(start)
	what, tail := "written", "; not confirmed: use --confirm to know they arrived"
	if confirm {
		what, tail = "published and confirmed", ""
	}
	fmt.Fprintf(a.stdout, "%s %d of %s in %v (%.0f msg/s%s)\n", what, done.Load(), plural(int64(count), "message"),
		elapsed(took), float64(done.Load())/max(took.Seconds(), 1e-9), tail)
	if ctx.Err() != nil {
		return errInterrupted
	}
	var blockErr error
	if !confirm && done.Load()+failed.Load() > 0 {
		blockErr = settleBlocked(ctx, t.Registry(), wait, done.Load())
		if ctx.Err() != nil {
			return errInterrupted
		}
	}
	notSent := int64(count) - done.Load() - failed.Load()
	switch {
	case firstErr != nil && notSent > 0:
		return errors.Join(fmt.Errorf("%s failed, %d not tried after it; the first: %w", plural(failed.Load(), "message"), notSent, firstErr), blockErr)
	case firstErr != nil:
		return errors.Join(fmt.Errorf("%s failed; the first: %w", plural(failed.Load(), "message"), firstErr), blockErr)
	}
	return blockErr
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
