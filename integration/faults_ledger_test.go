package integration

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/leakcheck"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/supervisor"
	"go.uber.org/goleak"
)

// The fault suite's ledger: what each scenario sent, what Warren confirmed,
// what its listeners received, and how long the slowest call outlived its
// deadline. Every scenario asserts on it (no confirmed message lost, no
// call past its deadline beyond the slack) and adds a row to the table
// TestMain prints after a `make faults` run.

// callSlack is how far past its deadline a call may return: the time to
// notice the deadline and unwind on a 2-core machine shared with brokers,
// under the race detector.
const callSlack = 500 * time.Millisecond

type faultRow struct {
	Scenario                                            string
	Sent, Failed, Confirmed, Received, Lost, Duplicates int64
	Recovery                                            time.Duration // < 0: not measured
	PastDeadline                                        time.Duration
	Result                                              string
	Note                                                string
}

var faultTable struct {
	mu   sync.Mutex
	rows []faultRow
}

// printFaultTable writes the rows recorded in this run (none: nothing).
func printFaultTable(w io.Writer) {
	faultTable.mu.Lock()
	defer faultTable.mu.Unlock()
	if len(faultTable.rows) == 0 {
		return
	}
	sort.SliceStable(faultTable.rows, func(i, j int) bool { return faultTable.rows[i].Scenario < faultTable.rows[j].Scenario })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tsent\tfailed\tconfirmed\treceived\tlost\tduplicates\trecovery\tpast deadline\tresult\t")
	for _, r := range faultTable.rows {
		rec := "-"
		if r.Recovery >= 0 {
			rec = r.Recovery.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", r.Scenario, r.Sent, r.Failed, r.Confirmed, r.Received,
			r.Lost, r.Duplicates, rec, r.PastDeadline.Round(time.Millisecond), r.Result)
	}
	tw.Flush()
	for _, r := range faultTable.rows {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, r.Note)
		}
	}
}

// ledger counts one scenario's traffic.
type ledger struct {
	t        testing.TB
	scenario string

	mu        sync.Mutex
	sent      int64
	failed    int64 // publishes that returned an error
	note      string
	confirmed map[string]bool
	received  map[string]int
	worst     time.Duration
	healedAt  time.Time
	recovery  time.Duration
	seq       atomic.Int64
	progress  testkit.Signal // notified on every publish's outcome and every delivery (changes)
}

// newLedger starts the ledger of a scenario; its row is recorded when the
// test ends (failed or not).
func newLedger(t testing.TB, scenario string) *ledger {
	l := &ledger{t: t, scenario: scenario, confirmed: map[string]bool{}, received: map[string]int{}, recovery: -1}
	t.Cleanup(l.record)
	return l
}

// timed runs f with a deadline d from now and keeps how far past d it
// returned.
func (l *ledger) timed(d time.Duration, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	if over := time.Since(start) - d; over > 0 {
		l.mu.Lock()
		l.worst = max(l.worst, over)
		l.mu.Unlock()
	}
	return err
}

// body is the next message: a Kazoo event whose Msg-ID the ledger tracks.
func (l *ledger) body() (id string, body []byte) {
	id = fmt.Sprintf("m%d", l.seq.Add(1))
	return id, fmt.Appendf(nil, `{"Event-Category":"fault","Event-Name":"probe","Msg-ID":%q,"App-Name":"faults","App-Version":"1","Node":"n","Server-ID":""}`, id)
}

// publish sends one message with deadline d; confirmed ones count when
// the broker confirmed them.
func (l *ledger) publish(tree *supervisor.Tree, exchange, key string, confirm bool, d time.Duration) error {
	id, body := l.body()
	var opts []publish.Option
	if confirm {
		opts = append(opts, publish.Confirm(), publish.Persistent())
	}
	start := time.Now()
	err := l.timed(d, func(ctx context.Context) error { return tree.Publish(ctx, exchange, key, body, opts...) })
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.progress.Notify()
	l.sent++
	if err != nil {
		l.failed++
	}
	if err == nil && confirm {
		l.confirmed[id] = true
		if !l.healedAt.IsZero() && l.recovery < 0 && start.After(l.healedAt) {
			l.recovery = time.Since(l.healedAt)
		}
	}
	return err
}

// looseRate is each fire-and-forget publisher's pace: a steady stream the
// listener keeps up with, so that the scenarios measure the fault, not a
// queue growing until the broker throttles every publisher.
const looseRate = 500 // messages per second

// load runs publishers until stop is called: confirmed goroutines publish
// confirmed and persistent, one after another; loose ones fire-and-forget
// at looseRate. stop waits for them.
func (l *ledger) load(tree *supervisor.Tree, exchange, key string, confirmed, loose int, d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range confirmed + loose {
		wg.Go(func() {
			var pace <-chan time.Time
			if i >= confirmed {
				tick := time.NewTicker(time.Second / looseRate)
				defer tick.Stop()
				pace = tick.C
			}
			for {
				select {
				case <-done:
					return
				default:
				}
				if pace != nil {
					select {
					case <-done:
						return
					case <-pace:
					}
				}
				if err := l.publish(tree, exchange, key, i < confirmed, d); err != nil {
					// A failed publish is expected during a fault; pace the retry.
					select {
					case <-done:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		})
	}
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// healed marks the end of the fault: recovery is the time from here to the
// first confirmed publish started after it.
func (l *ledger) healed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.healedAt = time.Now()
}

// got records a delivery of id.
func (l *ledger) got(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.received[id]++
	l.progress.Notify()
}

// changes returns a channel closed at the next publish's outcome or
// delivery, for testkit.Await on the ledger's counts.
func (l *ledger) changes() <-chan struct{} { return l.progress.Changed() }

// handler is a listener route recording each delivery's Msg-ID.
func (l *ledger) handler() listener.Route {
	return listener.Route{Category: "fault", Handler: func(_ context.Context, d *listener.Delivery) error {
		l.got(d.Envelope.MsgID())
		return nil
	}}
}

// failedCount is how many publishes returned an error so far.
func (l *ledger) failedCount() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// setRecovery records a recovery time measured by the scenario itself.
func (l *ledger) setRecovery(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recovery = d
}

// notef adds a line under the table for this scenario.
func (l *ledger) notef(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.note = fmt.Sprintf(format, args...)
}

// sentCount is how many publishes were made so far.
func (l *ledger) sentCount() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

// drain takes what is left in queue (no listener consumes it any more,
// none of its messages is unacked) with basic.get, records it, and
// asserts that every confirmed message was received or drained.
func (l *ledger) drain(t testing.TB, b *Broker, queue string) {
	t.Helper()
	testkit.Poll(t, 20*time.Second, "no unacked message left on "+queue, func() bool {
		return ctlCount(t, b, queue+"\t0", "list_queues", "name", "messages_unacknowledged") == 1
	})
	ch := rawChannel(t, b)
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("basic.get %s: %v", queue, err)
		}
		if !ok {
			break
		}
		env, err := kazoo.Parse(d.Body)
		if err != nil {
			t.Fatalf("a message in %s is not the ledger's: %v", queue, err)
		}
		l.got(env.MsgID())
	}
	if lost, _ := l.lost(); len(lost) > 0 {
		t.Errorf("%s: %d confirmed messages neither received nor in the queue (e.g. %v)", l.scenario, len(lost), lost[:min(5, len(lost))])
	}
}

// confirmedCount is how many publishes the broker confirmed so far.
func (l *ledger) confirmedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.confirmed)
}

// lost lists confirmed messages not received, and a channel closed at the
// next change (taken before the list is made).
func (l *ledger) lost() ([]string, <-chan struct{}) {
	changed := l.changes()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id := range l.confirmed {
		if l.received[id] == 0 {
			out = append(out, id)
		}
	}
	return out, changed
}

// settle waits until every confirmed message has been received, then
// asserts that none was lost and no call outlived its deadline by more
// than the slack.
func (l *ledger) settle(d time.Duration) {
	l.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	lost, arrived := l.lost()
	for len(lost) > 0 {
		select {
		case <-arrived:
		case <-deadline.C:
			l.t.Errorf("%s: %d confirmed messages never received within %v (e.g. %v)", l.scenario, len(lost), d, lost[:min(5, len(lost))])
			l.checkDeadlines()
			return
		}
		lost, arrived = l.lost()
	}
	l.checkDeadlines()
}

// checkDeadlines asserts that no call outlived its deadline by more than
// the slack.
func (l *ledger) checkDeadlines() {
	l.t.Helper()
	l.mu.Lock()
	worst := l.worst
	l.mu.Unlock()
	if worst > callSlack {
		l.t.Errorf("%s: a call returned %v past its deadline", l.scenario, worst.Round(time.Millisecond))
	}
}

func (l *ledger) record() {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := faultRow{Scenario: l.scenario, Sent: l.sent, Failed: l.failed, Confirmed: int64(len(l.confirmed)),
		Recovery: l.recovery, PastDeadline: l.worst, Result: "ok", Note: l.note}
	if l.t.Failed() {
		r.Result = "FAIL"
	}
	for _, n := range l.received {
		r.Received += int64(n)
		if n > 1 {
			r.Duplicates += int64(n - 1)
		}
	}
	for id := range l.confirmed {
		if l.received[id] == 0 {
			r.Lost++
		}
	}
	faultTable.mu.Lock()
	faultTable.rows = append(faultTable.rows, r)
	faultTable.mu.Unlock()
}

// goroutineBaseline is the goroutines running before a scenario's tree
// started; shutdownClean checks that the tree left none behind.
func goroutineBaseline() goleak.Option { return goleak.IgnoreCurrent() }

// shutdownClean shuts the tree down with deadline d while the fault may
// still be on: Shutdown must return by then, and leave no goroutine but
// the baseline's and the proxy's own.
func shutdownClean(t testing.TB, l *ledger, tree *supervisor.Tree, base goleak.Option, d time.Duration) {
	t.Helper()
	if err := l.timed(d, tree.Shutdown); err != nil {
		t.Errorf("shutdown under the fault: %v", err)
	}
	opts := append(leakcheck.Options(), base)
	opts = append(opts, notWarrens()...)
	if err := goleak.Find(opts...); err != nil {
		t.Errorf("goroutines left after Shutdown: %v", err)
	}
	l.checkDeadlines()
}
