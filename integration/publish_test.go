package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// Confirmed, persistent publishes from several goroutines while the broker
// is killed (kill -9) and started again: every publish that returned nil is
// in the durable queue afterwards; the others returned an error. Publishes
// made while the broker was down waited in the buffer and went out after
// the reconnect.
func TestFault_PublishConfirmedSurviveBrokerKill(t *testing.T) {
	b := StartBroker(t)
	const exchange, queue, key = "pub.kill", "pub.kill.q", "k"
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	pubDeclareBound(t, conn, exchange, queue, key)
	b.SyncMetadata(t) // the durable queue must survive the kill
	_ = conn.Close()

	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	cfg.Publish = publish.Config{Publishers: 2, Buffer: 10000, MaxWait: 45 * time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	id := brokerID(t, b)

	const workers, each = 6, 500
	var (
		killed    atomic.Int64    // UnixNano when the kill began
		restarted atomic.Int64    // UnixNano when the restart began
		up        atomic.Int64    // UnixNano when the restarted broker accepted AMQP
		okCount   testkit.Counter // confirmed publishes; Await on its Changed
		mu        sync.Mutex
		succeeded = map[string]bool{}
		failures  = map[string]int{} // error text -> count
		buffered  atomic.Int64       // publishes begun after the kill and confirmed after the restart
		wg        sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msgID := fmt.Sprintf("m-%d-%d", w, i)
				began := time.Now().UnixNano()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				err := tree.Publish(ctx, exchange, key, []byte(`{"id":"`+msgID+`"}`), publish.Confirm(), publish.Persistent(), publish.MessageID(msgID))
				cancel()
				mu.Lock()
				if err == nil {
					succeeded[msgID] = true
					okCount.Add(1)
					// Begun during the outage and confirmed after the restart
					// began: nothing can be confirmed between the end of the
					// kill and the restart, so it waited for the new connection.
					if k, r, u := killed.Load(), restarted.Load(), up.Load(); k != 0 && began > k && (u == 0 || began < u) && r != 0 && time.Now().UnixNano() > r {
						buffered.Add(1)
					}
				} else {
					failures[pubErrorKind(err)]++
				}
				mu.Unlock()
			}
		}()
	}
	testkit.Await(t, 30*time.Second, "1000 confirmed publishes before the kill", okCount.Changed, func() bool { return okCount.Load() >= 1000 })
	killed.Store(time.Now().UnixNano())
	b.Kill(t)
	waitConn(t, tree, id, 10*time.Second, "down", func(c registry.Connection) bool { return !c.Available })
	// Publishes made while the broker is down wait in the buffer.
	const outage = 50
	outageErrs := make(chan error, outage)
	for i := range outage {
		go func() {
			msgID := fmt.Sprintf("outage-%d", i)
			err := tree.Publish(context.Background(), exchange, key, []byte(`{"id":"`+msgID+`"}`), publish.Confirm(), publish.Persistent(), publish.MessageID(msgID))
			if err == nil {
				mu.Lock()
				succeeded[msgID] = true
				mu.Unlock()
			}
			outageErrs <- err
		}()
	}
	restarted.Store(time.Now().UnixNano())
	b.Start(t)
	up.Store(time.Now().UnixNano())
	waitConn(t, tree, id, 20*time.Second, "connected again", func(c registry.Connection) bool { return c.State == registry.Connected })
	wg.Wait()
	for range outage {
		if err := <-outageErrs; err != nil {
			t.Errorf("publish made during the outage = %v", err)
		}
	}

	got := pubConsumeAll(t, b.URI(), queue)
	var missing []string
	for msgID := range succeeded {
		if got[msgID] == 0 {
			missing = append(missing, msgID)
		}
	}
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("%d publishes: %d confirmed (%d of them begun during the outage), failures %v; queue holds %d distinct messages, %d duplicates",
		workers*each+outage, len(succeeded), buffered.Load()+outage, failures, len(got), dups)
	if len(missing) > 0 {
		t.Fatalf("%d confirmed messages lost, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if buffered.Load() == 0 {
		t.Error("no publish made during the outage succeeded: the buffer did not carry any across the restart")
	}
	if len(succeeded)+pubSum(failures) != workers*each+outage {
		t.Fatalf("%d publishes accounted for, want %d", len(succeeded)+pubSum(failures), workers*each+outage)
	}
}

// Of two concurrent streams of confirmed mandatory publishes, only the
// unroutable one gets ErrReturned, each return matched to its own publish.
func TestPublish_MandatoryReturnReachesTheRightCaller(t *testing.T) {
	b := StartBroker(t)
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	declareQueue(t, conn, "pub.routable", false)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)

	const n = 300
	var wg sync.WaitGroup
	errs := make([][]error, 2)
	for s, key := range []string{"pub.routable", "pub.nowhere"} {
		errs[s] = make([]error, n)
		for w := range 4 { // four goroutines per stream: many in flight at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					errs[s][i] = tree.Publish(context.Background(), "", key, []byte(`{}`), publish.Confirm(), publish.Mandatory())
				}
			}()
		}
	}
	wg.Wait()
	for i, err := range errs[0] {
		if err != nil {
			t.Fatalf("routable publish %d = %v", i, err)
		}
	}
	ids := map[string]bool{}
	for i, err := range errs[1] {
		var re *publish.ReturnedError
		if !errors.As(err, &re) || !errors.Is(err, publish.ErrReturned) || re.Code != amqp.NoRoute {
			t.Fatalf("unroutable publish %d = %v", i, err)
		}
		if ids[re.MessageID] {
			t.Fatalf("message id %s returned to two callers", re.MessageID)
		}
		ids[re.MessageID] = true
	}
	waitPublishers(t, tree, 5*time.Second, "returns counted", func(rows []registry.Publisher) bool {
		return pubTotal(rows, func(r registry.Publisher) uint64 { return r.Returned }) == n &&
			pubTotal(rows, func(r registry.Publisher) uint64 { return r.Confirmed }) == n
	})
}

// While the broker is down, publishes wait in the buffer and succeed once
// it is back; one past the buffer fails at once; a wait that runs out fails
// naming why.
func TestFault_PublishBufferedAcrossRestart(t *testing.T) {
	b := StartBroker(t)
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	declareQueue(t, conn, "pub.buffered", true)
	b.SyncMetadata(t)
	_ = conn.Close()
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	const buffer = 20
	cfg.Publish = publish.Config{Buffer: buffer, MaxWait: 45 * time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	id := brokerID(t, b)

	b.Kill(t)
	waitConn(t, tree, id, 10*time.Second, "down", func(c registry.Connection) bool { return !c.Available })
	waitPublishers(t, tree, 5*time.Second, "publishers waiting", func(rows []registry.Publisher) bool {
		return len(rows) == 2 && rows[0].State == registry.PublisherWaiting && rows[1].State == registry.PublisherWaiting
	})

	t.Run("a wait that runs out names why", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := tree.Publish(ctx, "", "pub.buffered", []byte(`{}`), publish.Confirm())
		if !errors.Is(err, publish.ErrNoChannel) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})

	results := make(chan error, buffer)
	for i := range buffer {
		go func() {
			results <- tree.Publish(context.Background(), "", "pub.buffered", []byte(fmt.Sprintf(`{"n":%d}`, i)), publish.Confirm(), publish.Persistent())
		}()
	}
	waitPublishers(t, tree, 5*time.Second, "all buffered", func(rows []registry.Publisher) bool {
		return pubTotal(rows, func(r registry.Publisher) uint64 { return uint64(r.Buffered) }) == buffer
	})
	t.Run("a full buffer fails at once", func(t *testing.T) {
		start := time.Now()
		err := tree.Publish(context.Background(), "", "pub.buffered", []byte(`{}`))
		if !errors.Is(err, publish.ErrBufferFull) || time.Since(start) > 100*time.Millisecond {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
	})

	b.Start(t)
	for range buffer {
		select {
		case err := <-results:
			if err != nil {
				t.Fatalf("buffered publish = %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Fatal("buffered publishes still waiting 40s after the restart")
		}
	}
	if got := pubConsumeAll(t, b.URI(), "pub.buffered"); len(got) != 0 && len(got) < buffer {
		t.Fatalf("queue holds %d messages", len(got))
	}
}

// connection.blocked (a memory alarm) makes publishers wait instead of
// writing into the blocked socket: a publish fails after MaxWait, and one
// made while blocked succeeds when the alarm clears within its wait.
func TestFault_PublishBlockedBrokerMakesPublishesWait(t *testing.T) {
	b := StartBroker(t)
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	declareQueue(t, conn, "pub.blocked", false)
	cfg := oneZone(b.URI())
	const maxWait = 8 * time.Second
	cfg.Publish = publish.Config{MaxWait: maxWait}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	id := brokerID(t, b)

	b.Ctl(t, "set_vm_memory_high_watermark", "0")
	t.Cleanup(func() { _, _ = b.CtlErr("set_vm_memory_high_watermark", "0.4") })
	// RabbitMQ blocks a connection once it publishes during the alarm: this
	// one is written (and waits in the socket until the alarm clears).
	if err := tree.Publish(context.Background(), "", "pub.blocked", []byte(`{"n":0}`)); err != nil {
		t.Fatalf("publish that triggers the block = %v", err)
	}
	// Publishers have a connection of their own: it is blocked, the
	// consuming one is not.
	waitConn(t, tree, actors.ConnID(id, registry.Publish), 10*time.Second, "blocked", func(c registry.Connection) bool { return c.State == registry.Blocked })
	if row, _ := tree.Registry().Connection(id); row.State != registry.Connected {
		t.Fatalf("the consuming connection is %s during the alarm", row.State)
	}
	waitPublishers(t, tree, 5*time.Second, "publishers blocked", func(rows []registry.Publisher) bool {
		return len(rows) == 2 && rows[0].State == registry.PublisherBlocked && rows[1].State == registry.PublisherBlocked
	})

	start := time.Now()
	err := tree.Publish(context.Background(), "", "pub.blocked", []byte(`{"n":1}`), publish.Confirm())
	if !errors.Is(err, publish.ErrBlocked) || time.Since(start) < maxWait-100*time.Millisecond {
		t.Fatalf("publish while blocked = %v after %v", err, time.Since(start))
	}

	done := make(chan error, 1)
	go func() {
		done <- tree.Publish(context.Background(), "", "pub.blocked", []byte(`{"n":2}`), publish.Confirm())
	}()
	waitPublishers(t, tree, 5*time.Second, "one publish waiting", func(rows []registry.Publisher) bool {
		return pubTotal(rows, func(r registry.Publisher) uint64 { return uint64(r.Buffered) }) == 1
	})
	b.Ctl(t, "set_vm_memory_high_watermark", "0.4")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("publish made while blocked, alarm cleared within its wait = %v", err)
		}
	case <-time.After(maxWait + 5*time.Second):
		t.Fatal("publish still waiting after the alarm cleared")
	}
	got := pubConsumeAll(t, b.URI(), "pub.blocked")
	if len(got) != 2 {
		t.Fatalf("queue holds %d messages, want the trigger and the one that waited", len(got))
	}
}

// A fire-and-forget and a confirmed publish both reach a queue read by a
// plain amqp091 client, with the properties asked for; the publishers show
// in the tree and their counters move.
func TestPublish_ReachesAQueueAndCounts(t *testing.T) {
	b := StartBroker(t)
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	declareQueue(t, conn, "pub.plain", false)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	id := brokerID(t, b)

	ctx := within(t, 10*time.Second)
	if err := tree.Publish(ctx, "", "pub.plain", []byte(`{"n":1}`), publish.CorrelationID("c-1")); err != nil {
		t.Fatal(err)
	}
	if err := tree.Publish(ctx, "", "pub.plain", []byte(`{"n":2}`), publish.Confirm(), publish.Persistent(),
		publish.Headers(amqp.Table{"Deliver-To-PID": "<0.1.0>"}), publish.MessageID("m-2"), publish.Expiration(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var ds []amqp.Delivery
	testkit.Poll(t, 5*time.Second, "two messages in the queue", func() bool {
		d, ok, err := ch.Get("pub.plain", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			ds = append(ds, d)
		}
		return len(ds) == 2
	})
	first, second := ds[0], ds[1]
	if string(first.Body) != `{"n":1}` { // two channels: no order between them
		first, second = second, first
	}
	if string(first.Body) != `{"n":1}` || first.ContentType != "application/json" || first.CorrelationId != "c-1" || first.DeliveryMode == amqp.Persistent {
		t.Errorf("fire-and-forget message = %+v", first)
	}
	if string(second.Body) != `{"n":2}` || second.DeliveryMode != amqp.Persistent || second.MessageId != "m-2" ||
		second.Headers["Deliver-To-PID"] != "<0.1.0>" || second.Expiration != "60000" {
		t.Errorf("confirmed message = %+v", second)
	}

	snap := tree.Snapshot()
	var pool *registry.TreeNode
	for _, c := range snap.Children {
		if c.Name == actors.PublishersName {
			pool = c
		}
	}
	if pool == nil || len(pool.Children) != 2 || pool.Children[0].Name != "publishers-1" || pool.Children[1].Name != "publishers-2" {
		t.Fatalf("publishers in the tree = %+v", pool)
	}
	for _, c := range pool.Children {
		if c.Status != registry.Running || len(c.Detail) < 5 || c.Detail[:5] != "ready" {
			t.Errorf("publisher %s = %+v", c.Name, c)
		}
	}
	rows := waitPublishers(t, tree, 5*time.Second, "counters flushed", func(rows []registry.Publisher) bool {
		return pubTotal(rows, func(r registry.Publisher) uint64 { return r.Published }) == 2 &&
			pubTotal(rows, func(r registry.Publisher) uint64 { return r.Confirmed }) == 1
	})
	for _, r := range rows {
		if r.Broker != actors.ConnID(id, registry.Publish) || r.Channel == "" || r.State != registry.PublisherReady {
			t.Errorf("row = %+v", r)
		}
	}
}

// pubDeclareBound declares a durable direct exchange and a durable queue bound
// to it with key.
func pubDeclareBound(t *testing.T, conn *amqp.Connection, exchange, queue, key string) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(exchange, "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(queue, key, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
}

// pubConsumeAll reads every message of queue with a plain amqp091 client and
// counts them by MessageId (by body when there is none).
func pubConsumeAll(t *testing.T, uri, queue string) map[string]int {
	t.Helper()
	conn := dial(t, uri, "test-consume", 10*time.Second)
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		// not durable: declared as transient by the test
		ch, _ = conn.Channel()
		if q, err = ch.QueueDeclarePassive(queue, false, false, false, false, nil); err != nil {
			t.Fatalf("queue %s: %v", queue, err)
		}
	}
	deliveries, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	timeout := time.After(30 * time.Second)
	for n := 0; n < q.Messages; n++ {
		select {
		case d := <-deliveries:
			k := d.MessageId
			if k == "" {
				k = string(d.Body)
			}
			got[k]++
		case <-timeout:
			t.Fatalf("queue %s: read %d of %d messages in 30s", queue, n, q.Messages)
		}
	}
	return got
}

// waitPublishers waits until the publishers rows satisfy cond and returns them.
func waitPublishers(t testing.TB, tree *supervisor.Tree, d time.Duration, what string, cond func([]registry.Publisher) bool) []registry.Publisher {
	t.Helper()
	var rows []registry.Publisher
	err := tree.Registry().Wait(within(t, d), func(s *registry.Snapshot) (bool, error) {
		rows = s.Publishers()
		return cond(rows), nil
	})
	if err != nil {
		t.Fatalf("publishers: %s not reached within %v; rows %+v", what, d, rows)
	}
	return rows
}

func waitPublishersReady(t testing.TB, tree *supervisor.Tree, d time.Duration) {
	t.Helper()
	waitPublishers(t, tree, d, "all ready", func(rows []registry.Publisher) bool {
		for _, r := range rows {
			if r.State != registry.PublisherReady {
				return false
			}
		}
		return len(rows) > 0
	})
}

func pubTotal(rows []registry.Publisher, f func(registry.Publisher) uint64) uint64 {
	var n uint64
	for _, r := range rows {
		n += f(r)
	}
	return n
}

func pubSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// pubErrorKind names a publish error by its sentinel, for a summary.
func pubErrorKind(err error) string {
	for _, s := range []error{publish.ErrNotConfirmed, publish.ErrNoChannel, publish.ErrBufferFull, publish.ErrNacked, publish.ErrBlocked} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}

// Publishes sharing an OrderKey reach the queue in call order even while
// other goroutines keep every channel busy; a confirmed publish to a
// missing exchange fails naming the broker's 404, and publishing goes on.
func TestPublish_OrderKeyAndChannelErrors(t *testing.T) {
	b := StartBroker(t)
	conn := dial(t, b.URI(), "test-setup", 10*time.Second)
	declareQueue(t, conn, "pub.ordered", false)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("pub.noise", false, false, false, false, amqp.Table{"x-max-length": int32(1000)}); err != nil {
		t.Fatal(err)
	}
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)

	t.Run("publishes sharing a key keep their order", func(t *testing.T) {
		stop := make(chan struct{})
		var noise sync.WaitGroup
		// Contention, self-limited (confirmed): without the key, the keyed
		// stream would spread over the channels.
		for range 8 {
			noise.Add(1)
			go func() {
				defer noise.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = tree.Publish(context.Background(), "", "pub.noise", []byte(`{}`), publish.Confirm())
				}
			}()
		}
		const n = 500
		for i := range n {
			opts := []publish.Option{publish.OrderKey("call-1"), publish.MessageID(fmt.Sprint(i))}
			if i%3 == 0 {
				opts = append(opts, publish.Confirm())
			}
			if err := tree.Publish(context.Background(), "", "pub.ordered", []byte(`{}`), opts...); err != nil {
				t.Fatalf("publish %d = %v", i, err)
			}
		}
		close(stop)
		noise.Wait()
		next := 0
		testkit.Poll(t, 10*time.Second, "all keyed messages read", func() bool {
			for {
				d, ok, err := ch.Get("pub.ordered", true)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					return next == n
				}
				if d.MessageId != fmt.Sprint(next) {
					t.Fatalf("message %s arrived where %d was due", d.MessageId, next)
				}
				next++
			}
		})
	})

	t.Run("a confirmed publish to a missing exchange names the 404", func(t *testing.T) {
		err := tree.Publish(within(t, 10*time.Second), "no.such.exchange", "x", []byte(`{}`), publish.Confirm())
		if !errors.Is(err, publish.ErrNoExchange) || !strings.Contains(err.Error(), "NOT_FOUND") {
			t.Fatalf("err = %v; want ErrNoExchange with the broker's 404", err)
		}
		if err := tree.Publish(within(t, 10*time.Second), "", "pub.ordered", []byte(`{}`), publish.Confirm()); err != nil {
			t.Fatalf("next confirmed publish = %v", err)
		}
		waitPublishersReady(t, tree, 10*time.Second)
	})
}

// Nacks in a row make the publisher give its channel up for a new one (a
// channel can stay stuck nacking after a quorum queue's leader died): a
// full reject-publish queue nacks every publish, and after 20 the
// confirm-mode channel is replaced; publishes elsewhere go on.
func TestPublish_NacksInARowRecycleTheChannel(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Publish.Publishers = 1
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("full-q", false, false, false, false, amqp.Table{"x-max-length": int32(0), "x-overflow": "reject-publish"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("fine-q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	before := tree.Registry().Publishers()[0].Channel
	for i := range 20 {
		err := tree.Publish(within(t, 5*time.Second), "", "full-q", []byte(`{}`), publish.Confirm())
		if !errors.Is(err, publish.ErrNacked) {
			t.Fatalf("publish %d to a full reject-publish queue: %v, want ErrNacked", i, err)
		}
	}
	waitPublishers(t, tree, 10*time.Second, "a new confirm-mode channel", func(rows []registry.Publisher) bool {
		return len(rows) == 1 && rows[0].State == registry.PublisherReady && rows[0].Channel != "" && rows[0].Channel != before
	})
	if err := tree.Publish(within(t, 5*time.Second), "", "fine-q", []byte(`{}`), publish.Confirm()); err != nil {
		t.Fatalf("publish on the new channel: %v", err)
	}
}
