package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// Everyday operations that must lose no work (issue 18): a service
// deployed by starting its new version before shutting the old one down,
// and a RabbitMQ cluster restarted one node at a time.

// handlerWork is how long each scenario handler works on a delivery.
const handlerWork = 40 * time.Millisecond

// Rolling deploy: a durable queue with one listener (8 workers, prefetch
// 20, handlers that work 40 ms) in a tree; a raw amqp091 publisher (not
// Warren) publishes 300 confirmed messages a second to the queue's
// exchange; the service is deployed twice (a new tree with the same
// listener consumes, then the old tree shuts down). Every confirmed
// message is handled to success exactly once, and no handler's ctx ends
// before its 40 ms of work: Shutdown lets the handlers in flight finish
// (within its drain timeout, which exceeds 40 ms) and settles their
// deliveries before it closes the channel. The handlers that honour their
// ctx return ctx.Err() when it ends first; the others work their 40 ms
// regardless and return nil.
func TestFault_RollingDeployLosesNothing(t *testing.T) {
	t.Run("handlers_honour_ctx", func(t *testing.T) { rollingDeploy(t, true) })
	t.Run("handlers_ignore_ctx", func(t *testing.T) { rollingDeploy(t, false) })
}

const (
	deployExchange = "warren-deploy"
	deployQueue    = "deploy-q"
	deployRate     = 300 // confirmed raw publishes a second
	deployPhase    = 600 // confirmed publishes before, between and after the deploys (2 s each)
)

func rollingDeploy(t *testing.T, honour bool) {
	kind := "ignore"
	if honour {
		kind = "honour"
	}
	b := StartBroker(t)
	l := newLedger(t, "rolling deploy, handlers "+kind+" ctx")
	pub := newRawConfirmer(t, b) // its connection opens before the goroutine baseline
	base := goroutineBaseline()

	var cut atomic.Int64 // handlers whose ctx ended before their work did
	handle := func(ctx context.Context, d *listener.Delivery) error {
		work := time.NewTimer(handlerWork)
		defer work.Stop()
		select {
		case <-work.C:
		case <-ctx.Done():
			cut.Add(1)
			if honour {
				return ctx.Err()
			}
			<-work.C
		}
		l.got(d.MessageID) // handled to success: this handler returns nil
		return nil
	}
	spec := listener.Spec{Name: "deploy", Queue: listener.QueueSpec{Name: deployQueue, Durable: true},
		Prefetch: 20, Workers: 8,
		Bindings: []listener.Binding{{Exchange: deployExchange, RoutingKey: "#", Declare: true, Kind: "topic", Durable: true}},
		Handlers: []listener.Route{{Category: "fault", Handler: handle}}}
	cfg := bare(oneZone(b.URI()))
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: time.Second}
	deploy := func() *supervisor.Tree {
		t.Helper()
		tree, _ := treetest.Start(t, cfg)
		waitReady(t, tree, 30*time.Second)
		pid, err := tree.SpawnListener(within(t, 10*time.Second), spec)
		if err != nil {
			t.Fatalf("spawn listener: %v", err)
		}
		if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
			t.Fatalf("new version's listener: %v", err)
		}
		return tree
	}

	running := deploy()
	stop := pub.load(l, deployExchange, "deploy", deployRate, 60*time.Second)
	t.Cleanup(stop) // a failed scenario stops its load before the trees shut down
	var took []time.Duration
	for i := range 2 {
		confirmedMore(t, l, deployPhase, 20*time.Second, fmt.Sprintf("confirmed publishes before deploy %d", i+1))
		next := deploy()
		start := time.Now()
		if err := running.Shutdown(within(t, 30*time.Second)); err != nil {
			t.Errorf("deploy %d: shutting the old version down: %v", i+1, err)
		}
		took = append(took, time.Since(start))
		running = next
	}
	confirmedMore(t, l, deployPhase, 20*time.Second, "confirmed publishes after the deploys")
	stop()
	testkit.Poll(t, 60*time.Second, deployQueue+" drained (0 messages, 0 unacked)", func() bool {
		ready, unacked := queueDepth(t, b, deployQueue)
		return ready == 0 && unacked == 0
	})

	once, more, never := l.handledTimes()
	longest := slices.Max(took)
	l.setRecovery(longest)
	l.notef("confirmed %d, handled to success once %d, twice or more %d, never %d; cut short %d; shutdowns took %s (recovery: the longest)",
		l.confirmedCount(), once, more, never, cut.Load(), durations(took))
	t.Logf("confirmed %d (failed %d), handled once %d, twice or more %d, never %d; cut short %d; shutdowns took %s",
		l.confirmedCount(), l.failedCount(), once, more, never, cut.Load(), durations(took))
	if never > 0 {
		lost, _ := l.lost()
		t.Errorf("%d confirmed messages never handled to success (e.g. %v)", never, lost[:min(5, len(lost))])
	}
	if more > 0 {
		t.Errorf("%d confirmed messages handled to success twice or more", more)
	}
	if n := cut.Load(); n > 0 {
		t.Errorf("%d handlers had their ctx end before their %v of work", n, handlerWork)
	}
	shutdownClean(t, l, running, base, 15*time.Second)
}

// Rolling restart of a three-node cluster: Warren's zone lists the three
// nodes; a listener consumes a quorum queue while 200 confirmed publishes
// a second (each with a 2 s deadline) go through tree.Publish; each node in
// turn is stopped gracefully (rabbitmqctl stop), kept down 4 s, started
// again and waited for (the broker's quorum members online, the tree's
// connections to it back). No confirmed message is lost, and no publish
// fails: a graceful stop is an everyday operation, so a publish the node
// closed under it is sent again elsewhere within its deadline.
func TestFault_ClusterRollingRestart(t *testing.T) {
	clusterRollingRestart(t, "cluster rolling restart", 0, func(*supervisor.Tree) rollingHooks { return rollingHooks{} })
}

// The same rolling restart as an operator would run it: before each node
// stops, Tree.DrainBroker moves Warren's floats (the listener, the
// publishers) to the other nodes, and rabbitmq-upgrade drain moves the
// node's quorum leaders away (and closes what client connections are
// left); once the node is back, rabbitmq-upgrade revive and
// Tree.UndrainBroker. No publish fails and deliveries never pause for more
// than a second.
func TestFault_ClusterRollingRestartDrained(t *testing.T) {
	drainedRollingRestart(t, (*supervisor.Tree).DrainBroker, (*supervisor.Tree).UndrainBroker)
}

// drainedRollingRestart is the rolling restart with each node drained
// before it stops and undrained once it is back: the listener moves off
// the node before its connections close, so deliveries never pause for
// more than a second. A test passes the tree's methods, e.g.
//
//	drainedRollingRestart(t, (*supervisor.Tree).DrainBroker, (*supervisor.Tree).UndrainBroker)
func drainedRollingRestart(t *testing.T, drain, undrain func(tree *supervisor.Tree, ctx context.Context, id string) error) {
	clusterRollingRestart(t, "cluster rolling restart, drained", time.Second, func(tree *supervisor.Tree) rollingHooks {
		return rollingHooks{
			beforeStop: func(t *testing.T, b *Broker, id string) {
				began := time.Now()
				if err := drain(tree, within(t, 20*time.Second), id); err != nil {
					t.Fatalf("drain %s: %v", id, err)
				}
				t.Logf("DrainBroker(%s) took %v", id, time.Since(began).Round(time.Millisecond))
				b.Upgrade(t, "drain")
			},
			afterStart: func(t *testing.T, b *Broker, id string) {
				b.Upgrade(t, "revive")
				if err := undrain(tree, within(t, 20*time.Second), id); err != nil {
					t.Fatalf("undrain %s: %v", id, err)
				}
			},
		}
	})
}

// rollingHooks run around each node's restart, with the node's broker id
// (Warren's name for it).
type rollingHooks struct {
	beforeStop func(t *testing.T, b *Broker, id string) // nil: nothing
	afterStart func(t *testing.T, b *Broker, id string) // nil: nothing
}

const (
	rollingExchange = "warren-rolling"
	rollingQueue    = "rolling-q"
	rollingRate     = 200 // confirmed tree.Publish calls a second
	rollingDeadline = 2 * time.Second
	rollingDown     = 4 * time.Second // how long each node stays down
)

// clusterRollingRestart runs the rolling restart with the hooks made for
// the scenario's tree; maxGap > 0 also asserts that no two deliveries to
// the listener are further apart than it while the nodes restart.
func clusterRollingRestart(t *testing.T, scenario string, maxGap time.Duration, hooksFor func(*supervisor.Tree) rollingHooks) {
	nodes := StartCluster(t, 3)
	l := newLedger(t, scenario)
	base := goroutineBaseline()
	cfg := oneZone(ClusterURIs(nodes)...)
	cfg.Connection.Heartbeat = time.Second
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: time.Second}
	cfg.RPC.Workers = -1
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 30*time.Second)
	waitPublishersReady(t, tree, 20*time.Second)
	hooks := hooksFor(tree)

	var gaps gapMeter
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "rolling",
		Queue:    listener.QueueSpec{Name: rollingQueue, Durable: true, Args: amqp.Table{"x-queue-type": "quorum"}},
		Bindings: []listener.Binding{{Exchange: rollingExchange, RoutingKey: "#", Declare: true, Kind: "topic", Durable: true}},
		Handlers: []listener.Route{{Category: "fault", Handler: func(_ context.Context, d *listener.Delivery) error {
			gaps.mark()
			l.got(d.Envelope.MsgID())
			return nil
		}}}})
	waitQuorumOnline(t, nodes[0], nodes, 30*time.Second)

	errs := &errorGroups{}
	stop := rateLoad(l, tree, rollingExchange, rollingRate, rollingDeadline, 3*time.Minute, errs)
	t.Cleanup(stop) // before the tree's shutdown (cleanups run last first)
	confirmedMore(t, l, 2*rollingRate, 20*time.Second, "confirmed publishes flowing")

	var restarts, worsts []time.Duration
	var per []string
	for i, b := range nodes {
		id := brokerID(t, b)
		gaps.start()
		failed := l.failedCount()
		if hooks.beforeStop != nil {
			hooks.beforeStop(t, b, id)
		}
		row, _ := tree.Registry().Listener(pid.Id)
		leads := quorumLeader(b) == b.Name
		began := time.Now()
		b.StopWithCtl(t)
		stopped := time.Since(began)
		t.Logf("node %d (%s) stopped %s–%s", i+1, id, clock(began), clock(began.Add(stopped)))
		down := time.NewTimer(rollingDown) // the outage itself, not a wait for a condition
		<-down.C
		b.Start(t)
		waitQuorumOnline(t, b, nodes, 60*time.Second)
		// As an operator does before the next node: its replica of the
		// queue has caught up. Online alone is not enough: a replica still
		// catching up leaves the queue without a majority once the next
		// node stops, and no publish is confirmed until it has.
		caught := time.Now()
		waitQuorumCaughtUp(t, b, 60*time.Second)
		t.Logf("node %d back: every replica caught up with the leader after %v", i+1, time.Since(caught).Round(time.Millisecond))
		for _, role := range []registry.ConnRole{registry.Consume, registry.Publish} {
			waitConn(t, tree, actors.ConnID(id, role), 30*time.Second, string(role)+" connection back",
				func(c registry.Connection) bool { return c.Available })
		}
		if hooks.afterStart != nil {
			hooks.afterStart(t, b, id)
		}
		restarts = append(restarts, time.Since(began))
		confirmedMore(t, l, rollingRate, 20*time.Second, fmt.Sprintf("confirmed publishes after node %d is back", i+1))
		worsts = append(worsts, gaps.stop())
		per = append(per, fmt.Sprintf("node %d (queue leader %v, listener on it %v): gap %v, failed %d", i+1, leads,
			row.Broker == id, worsts[i].Round(time.Millisecond), l.failedCount()-failed))
		t.Logf("node %d (%s) stopped in %v, back after %v; the quorum leader was on it: %v; the listener was on %s; longest gap in deliveries %v (%s); %d publishes failed",
			i+1, id, stopped.Round(time.Millisecond), restarts[i].Round(time.Millisecond), leads, row.Broker,
			worsts[i].Round(time.Millisecond), gaps.window(), l.failedCount()-failed)
	}
	worst := slices.Max(worsts)
	stop()
	l.settle(60 * time.Second)

	l.setRecovery(worst)
	l.notef("longest gap between deliveries %v (recovery); %s; restarts (stop, 4 s down, start, rejoin) took %s; failed publishes: %s",
		worst.Round(time.Millisecond), strings.Join(per, "; "), durations(restarts), errs)
	t.Logf("sent %d, confirmed %d, failed %d (%s); longest gap between deliveries %v; restarts took %s",
		l.sentCount(), l.confirmedCount(), l.failedCount(), errs, worst.Round(time.Millisecond), durations(restarts))
	if n := l.failedCount(); n > 0 {
		t.Errorf("%d publishes failed during a rolling restart: %s", n, errs)
	}
	if maxGap > 0 && worst > maxGap {
		t.Errorf("deliveries to the listener paused for %v during the rolling restart, want at most %v", worst.Round(time.Millisecond), maxGap)
	}
	shutdownClean(t, l, tree, base, 15*time.Second)
}

// waitQuorumOnline waits until via lists every node as an online member of
// the rolling queue.
func waitQuorumOnline(t testing.TB, via *Broker, nodes []*Broker, d time.Duration) {
	t.Helper()
	testkit.Poll(t, d, rollingQueue+": every quorum member online (seen by "+via.Name+")", func() bool {
		out, err := via.CtlErr("list_queues", "name", "online", "--quiet", "--no-table-headers")
		if err != nil {
			return false
		}
		for _, line := range strings.Split(out, "\n") {
			name, online, ok := strings.Cut(line, "\t")
			if !ok || name != rollingQueue {
				continue
			}
			for _, b := range nodes {
				if !strings.Contains(online, b.Name) {
					return false
				}
			}
			return true
		}
		return false
	})
}

// waitQuorumCaughtUp waits until every member of the rolling queue, as
// via's rabbitmq-queues quorum_status lists them, is leader or follower and
// has committed what the leader had committed when the wait began.
func waitQuorumCaughtUp(t testing.TB, via *Broker, d time.Duration) {
	t.Helper()
	target := int64(-1)
	testkit.Poll(t, d, rollingQueue+": every replica caught up with the leader (seen by "+via.Name+")", func() bool {
		out, err := via.QueuesErr("quorum_status", rollingQueue, "--formatter", "json")
		if err != nil {
			return false
		}
		var members []struct {
			Node   string `json:"Node Name"`
			State  string `json:"Raft State"`
			Commit int64  `json:"Commit Index"`
		}
		if json.Unmarshal([]byte(out), &members) != nil || len(members) == 0 {
			return false
		}
		for _, m := range members {
			if m.State == "leader" && target < 0 {
				target = m.Commit
			}
		}
		if target < 0 {
			return false // no leader yet
		}
		for _, m := range members {
			if m.State != "leader" && m.State != "follower" || m.Commit < target {
				return false
			}
		}
		return true
	})
}

// quorumLeader is the node leading the rolling queue as b lists it, "" if
// b cannot say.
func quorumLeader(b *Broker) string {
	out, err := b.CtlErr("list_queues", "name", "leader", "--quiet", "--no-table-headers")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if name, leader, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && name == rollingQueue {
			return leader
		}
	}
	return ""
}

// confirmedMore waits until n more publishes than now are confirmed.
func confirmedMore(t testing.TB, l *ledger, n int, d time.Duration, what string) {
	t.Helper()
	from := l.confirmedCount()
	testkit.Await(t, d, what, l.changes, func() bool { return l.confirmedCount() >= from+n })
}

// queueDepth is the queue's ready and unacknowledged message counts as
// the broker lists them (-1, -1 when it lists no such queue).
func queueDepth(t testing.TB, b *Broker, queue string) (ready, unacked int) {
	t.Helper()
	out := b.Ctl(t, "list_queues", "name", "messages_ready", "messages_unacknowledged", "--quiet", "--no-table-headers")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if len(f) != 3 || f[0] != queue {
			continue
		}
		r, err1 := strconv.Atoi(f[1])
		u, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("list_queues: %q", line)
		}
		return r, u
	}
	return -1, -1
}

// handledTimes splits the confirmed messages by how often a handler
// returned nil for them.
func (l *ledger) handledTimes() (once, more, never int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.confirmed {
		switch n := l.received[id]; {
		case n == 0:
			never++
		case n == 1:
			once++
		default:
			more++
		}
	}
	return once, more, never
}

// rawSent records a publish made outside Warren: confirmed when the broker
// acked it, failed when the publish or its confirm did not succeed.
func (l *ledger) rawSent(id string, confirmed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if confirmed {
		l.confirmed[id] = true
	} else {
		l.failed++
	}
}

// rawConfirmer is a plain amqp091 channel in confirm mode: the publisher
// of a service that is not Warren.
type rawConfirmer struct {
	ch *amqp.Channel
}

// newRawConfirmer opens a connection and a confirm-mode channel on b,
// closed at cleanup.
func newRawConfirmer(t testing.TB, b *Broker) *rawConfirmer {
	t.Helper()
	conn, err := amqp.Dial(b.URI())
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("raw channel: %v", err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("raw confirm.select: %v", err)
	}
	return &rawConfirmer{ch: ch}
}

// load publishes rate persistent messages a second to exchange, each a
// ledger body with its id also as MessageId, and records each confirm in
// l; it ends after limit or when stop is called, which waits for the
// outstanding confirms (each within 10 s).
func (p *rawConfirmer) load(l *ledger, exchange, key string, rate int, limit time.Duration) (stop func()) {
	type pending struct {
		id string
		dc *amqp.DeferredConfirmation
	}
	done := make(chan struct{})
	queue := make(chan pending, rate*int(limit/time.Second)+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(queue)
		paced(done, rate, limit, func() {
			id, body := l.body()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, amqp.Publishing{
				ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: id, Body: body})
			cancel()
			l.mu.Lock()
			l.sent++
			l.mu.Unlock()
			if err != nil {
				l.rawSent(id, false)
				return
			}
			queue <- pending{id, dc}
		})
	})
	wg.Go(func() {
		for q := range queue {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ok, err := q.dc.WaitContext(ctx)
			cancel()
			l.rawSent(q.id, ok && err == nil)
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// rateLoad calls tree.Publish (confirmed, persistent, deadline d) rate
// times a second, each call in its own goroutine (at most rate*d*2 at
// once), and groups the errors in errs; it ends after limit or when stop
// is called, which waits for the calls in flight.
func rateLoad(l *ledger, tree *supervisor.Tree, exchange string, rate int, d, limit time.Duration, errs *errorGroups) (stop func()) {
	done := make(chan struct{})
	slots := make(chan struct{}, 2*rate*int(d/time.Second+1))
	var wg sync.WaitGroup
	wg.Go(func() {
		paced(done, rate, limit, func() {
			select {
			case slots <- struct{}{}:
			default: // every slot busy: this tick is skipped, and counts nowhere
				return
			}
			wg.Go(func() {
				defer func() { <-slots }()
				if err := l.publish(tree, exchange, "rolling", true, d); err != nil {
					errs.add(err)
				}
			})
		})
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// paced calls each rate times a second until done is closed or limit has
// passed, on the caller's goroutine.
func paced(done <-chan struct{}, rate int, limit time.Duration, each func()) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.NewTimer(limit)
	defer end.Stop()
	for {
		select {
		case <-done:
			return
		case <-end.C:
			return
		case <-tick.C:
			each()
		}
	}
}

// errorGroups counts errors by their text with numbers (ports, counts,
// sequence numbers) replaced by N.
type errorGroups struct {
	mu sync.Mutex
	n  map[string]int
}

var digits = regexp.MustCompile(`[0-9]+`)

func (g *errorGroups) add(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == nil {
		g.n = map[string]int{}
	}
	g.n[digits.ReplaceAllString(err.Error(), "N")]++
}

// String lists the groups, the most frequent first: `12× "text"; 3× "text"`.
func (g *errorGroups) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.n) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(g.n))
	for k := range g.n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if g.n[keys[i]] != g.n[keys[j]] {
			return g.n[keys[i]] > g.n[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d× %q", g.n[k], k)
	}
	return strings.Join(parts, "; ")
}

// gapMeter keeps the longest time between two deliveries (or between
// start and the first) while it is on, and when that gap ended.
type gapMeter struct {
	mu      sync.Mutex
	on      bool
	last    time.Time
	worst   time.Duration
	worstTo time.Time // when the worst gap ended
}

func (g *gapMeter) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.on, g.last = true, time.Now()
	g.worst, g.worstTo = 0, time.Time{} // each node's restart is measured on its own
}

func (g *gapMeter) mark() {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.note(now)
	g.last = now
}

func (g *gapMeter) note(now time.Time) {
	if g.on && now.Sub(g.last) > g.worst {
		g.worst, g.worstTo = now.Sub(g.last), now
	}
}

// stop ends the measure and returns the longest gap, counting the one
// still open.
func (g *gapMeter) stop() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.note(time.Now())
	g.on = false
	return g.worst
}

// window says when the longest gap began and ended (wall clock, as the
// tree's logs print it).
func (g *gapMeter) window() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.worstTo.IsZero() {
		return "none"
	}
	return clock(g.worstTo.Add(-g.worst)) + "–" + clock(g.worstTo)
}

// clock is t as the logs print it, UTC to the millisecond.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(parts, ", ")
}
