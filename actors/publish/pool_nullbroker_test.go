package publish_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests run the publishers in a tree on internal/nullbroker: real
// sockets, real AMQP, no RabbitMQ node.

// within is testkit.Within: a context that ends after d or with the test.
var within = testkit.Within

func startNull(t testing.TB, cfg nullbroker.Config) *nullbroker.Server {
	t.Helper()
	return treetest.NullBroker(t, cfg)
}

// pubTree starts a tree with publishers (no RPC workers) on nb and waits
// until they are ready.
func pubTree(t testing.TB, nb *nullbroker.Server, pc publish.Config) *supervisor.Tree {
	t.Helper()
	return pubTreeShut(t, nb, pc, true)
}

// pubTreeShut is pubTree whose cleanup checks Shutdown's error only when
// check is set (a test that shut the tree down itself checked it).
func pubTreeShut(t testing.TB, nb *nullbroker.Server, pc publish.Config, check bool) *supervisor.Tree {
	t.Helper()
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}},
		RPC: rpc.Config{Workers: -1}, Publish: pc}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.Connection.Heartbeat = time.Second
	var opts []treetest.Option
	if !check {
		opts = append(opts, treetest.ShutdownMayFail())
	}
	tree, _ := treetest.Start(t, cfg, opts...)
	treetest.WaitReady(t, tree, 10*time.Second) // Kazoo's exchanges declared
	waitPublishers(t, tree, "all ready", func(rows []registry.Publisher) bool {
		for _, r := range rows {
			if r.State != registry.PublisherReady {
				return false
			}
		}
		return len(rows) > 0
	})
	return tree
}

// waitPublishers waits, on the registry's watches, until the publishers'
// rows satisfy cond, and returns them.
func waitPublishers(t testing.TB, tree *supervisor.Tree, what string, cond func([]registry.Publisher) bool) []registry.Publisher {
	t.Helper()
	var rows []registry.Publisher
	err := tree.Registry().Wait(within(t, 10*time.Second), func(s *registry.Snapshot) (bool, error) {
		rows = s.Publishers()
		return cond(rows), nil
	})
	if err != nil {
		t.Fatalf("publishers: %s: %v (rows %+v)", what, err, rows)
	}
	return rows
}

func total(rows []registry.Publisher, f func(registry.Publisher) uint64) uint64 {
	var n uint64
	for _, r := range rows {
		n += f(r)
	}
	return n
}

// consumer declares queue bound to exchange/key on nb and returns its
// deliveries.
func consumer(t *testing.T, nb *nullbroker.Server, queue, exchange, key string) <-chan amqp.Delivery {
	t.Helper()
	conn, err := amqp.Dial(nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, _ := conn.Channel()
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if exchange != "" {
		if err := ch.QueueBind(queue, key, exchange, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// next returns the next delivery (testkit.Recv, 5 s).
func next(t *testing.T, d <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	return testkit.Recv(t, d, 5*time.Second, "delivery")
}

func TestPublish_EveryOptionArrives(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "opts-q", "kapps", "opts")
	err := tree.Publish(within(t, 5*time.Second), "kapps", "opts", []byte("hello"), publish.Confirm(), publish.Persistent(),
		publish.Headers(amqp.Table{"X-Kazoo": "yes"}), publish.ContentType("text/plain"), publish.ContentEncoding("identity"),
		publish.Expiration(time.Minute), publish.Priority(3), publish.MessageID("m-1"), publish.CorrelationID("c-1"),
		publish.ReplyTo("r-1"), publish.Type("t-1"), publish.AppID("a-1"), publish.OrderKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	m := next(t, d)
	if string(m.Body) != "hello" || m.DeliveryMode != amqp.Persistent || m.Headers["X-Kazoo"] != "yes" || m.ContentType != "text/plain" ||
		m.ContentEncoding != "identity" || m.Expiration != "60000" || m.Priority != 3 || m.MessageId != "m-1" ||
		m.CorrelationId != "c-1" || m.ReplyTo != "r-1" || m.Type != "t-1" || m.AppId != "a-1" {
		t.Fatalf("delivered %+v", m)
	}
	if err := tree.Publish(within(t, 5*time.Second), "kapps", "opts", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d); m.ContentType != publish.DefaultContentType {
		t.Fatalf("default content type %q", m.ContentType)
	}
	rows := waitPublishers(t, tree, "two published, one confirmed", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Published }) == 2 &&
			total(rows, func(r registry.Publisher) uint64 { return r.Confirmed }) == 1
	})
	for _, r := range rows {
		if r.Broker == "" || r.Channel == "" || r.PlainChannel == "" {
			t.Errorf("row %+v", r)
		}
	}
}

func TestPublish_MandatoryReturnsReachTheirCaller(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	consumer(t, nb, "routed-q", "kapps", "routed")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			key := "routed"
			if i%2 == 1 {
				key = fmt.Sprintf("nowhere.%d", i)
			}
			errs[i] = tree.Publish(within(t, 5*time.Second), "kapps", key, []byte(`{}`), publish.Confirm(), publish.Mandatory())
		})
	}
	wg.Wait()
	for i, err := range errs {
		var re *publish.ReturnedError
		switch {
		case i%2 == 0 && err != nil:
			t.Errorf("routed publish %d: %v", i, err)
		case i%2 == 1 && (!errors.As(err, &re) || !errors.Is(err, publish.ErrReturned) || re.Code != 312):
			t.Errorf("unroutable publish %d: %v, want a 312 return", i, err)
		}
	}
	// Mandatory without confirm: counted, not reported.
	if err := tree.Publish(within(t, 5*time.Second), "kapps", "nowhere", []byte(`{}`), publish.Mandatory()); err != nil {
		t.Fatal(err)
	}
	waitPublishers(t, tree, "eleven returns counted", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Returned }) == 11
	})
}

func TestPublish_BadPublishesFailTheirCallerOnly(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{MaxMessageSize: 1000})
	d := consumer(t, nb, "good-q", "kapps", "good")
	if err := tree.Publish(within(t, 5*time.Second), "missing", "k", []byte(`{}`), publish.Confirm()); !errors.Is(err, publish.ErrNoExchange) {
		t.Fatalf("missing exchange: %v", err)
	}
	var pe *publish.Error
	err := tree.Publish(within(t, 5*time.Second), "kapps", "good", make([]byte, 1001))
	if !errors.Is(err, publish.ErrTooLarge) || !errors.As(err, &pe) || pe.Exchange != "kapps" || pe.RoutingKey != "good" {
		t.Fatalf("oversized: %v", err)
	}
	if err := tree.Publish(within(t, 5*time.Second), "kapps", "good", []byte(`{}`), publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	next(t, d)
	if err := tree.Publish(within(t, time.Second), "kapps", "good", nil, nil); err == nil {
		t.Fatal("a nil option was accepted")
	}
}

func TestPublish_WaitsForABrokerAndBuffersBoundedly(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{Buffer: 2, MaxWait: 300 * time.Millisecond})
	nb.Freeze() // stop answering: heartbeats (1s) end the connection
	waitPublishers(t, tree, "waiting for a channel", func(rows []registry.Publisher) bool {
		for _, r := range rows {
			if r.State == registry.PublisherReady {
				return false
			}
		}
		return true
	})
	// It gave up at MaxWait, not at its ctx's deadline (5 s).
	err := tree.Publish(within(t, 5*time.Second), "kapps", "k", []byte(`{}`))
	if !errors.Is(err, publish.ErrNoChannel) || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "maximum of 300ms") {
		t.Fatalf("publish with no broker = %v; want ErrNoChannel at MaxWait (300ms)", err)
	}
	// Two wait, a third is refused at once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _ = tree.Publish(within(t, 5*time.Second), "kapps", "k", []byte(`{}`)) })
	}
	waitPublishers(t, tree, "two waiting", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return uint64(r.Buffered) }) == 2
	})
	if err := tree.Publish(within(t, 5*time.Second), "kapps", "k", []byte(`{}`)); !errors.Is(err, publish.ErrBufferFull) {
		t.Fatalf("third publish = %v; want ErrBufferFull", err)
	}
	wg.Wait()
	// A ctx ending while it waits names the ctx.
	err = tree.Publish(within(t, 50*time.Millisecond), "kapps", "k", []byte(`{}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish whose ctx ends while waiting = %v", err)
	}
	nb.Thaw()
	waitPublishers(t, tree, "ready again", func(rows []registry.Publisher) bool {
		for _, r := range rows {
			if r.State != registry.PublisherReady {
				return false
			}
		}
		return true
	})
	if err := tree.Publish(within(t, 5*time.Second), "kapps", "k", []byte(`{}`), publish.Confirm()); err != nil {
		t.Fatalf("after the broker came back: %v", err)
	}
}

func TestPublish_BlockedBrokerMakesPublishesWait(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{MaxWait: 300 * time.Millisecond})
	nb.Block("low on memory")
	waitPublishers(t, tree, "blocked", func(rows []registry.Publisher) bool {
		for _, r := range rows {
			if r.State != registry.PublisherBlocked {
				return false
			}
		}
		return len(rows) > 0
	})
	if err := tree.Publish(within(t, 5*time.Second), "kapps", "k", []byte(`{}`)); !errors.Is(err, publish.ErrBlocked) {
		t.Fatalf("publish while blocked = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- tree.Publish(within(t, 5*time.Second), "kapps", "k", []byte(`{}`), publish.Confirm()) }()
	waitPublishers(t, tree, "one waiting", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return uint64(r.Buffered) }) == 1
	})
	nb.Unblock()
	if err := <-done; err != nil {
		t.Fatalf("publish made while blocked, unblocked in its wait = %v", err)
	}
}

// A confirmed publish whose broker hangs before the ack returns by its
// deadline with ErrNotConfirmed, naming the channel (and so the broker)
// whose confirm it waited for; Shutdown releases one still waiting.
func TestPublish_ConfirmWaitEndsWithTheDeadlineOrShutdown(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	nb.Freeze()
	defer nb.Thaw()
	// It returns because its ctx ended (the confirm wait is 30 s). The
	// default exchange needs no check: the publish is written, then waits.
	err := tree.Publish(within(t, 300*time.Millisecond), "", "k", []byte(`{}`), publish.Confirm())
	if !errors.Is(err, publish.ErrNotConfirmed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish to a frozen broker = %v; want ErrNotConfirmed, ended by its ctx's deadline", err)
	}
	var channel string
	for _, row := range tree.Registry().AssignmentsIn(registry.Assigned) {
		if row.Channel != "" && strings.Contains(err.Error(), "no confirm on channel "+row.Channel+" ") {
			channel = row.Channel
		}
	}
	if channel == "" {
		t.Fatalf("publish to a frozen broker = %v; want it to name the channel it waited on", err)
	}
}

func TestPublish_ShutdownReleasesAConfirmWait(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	nb.Freeze() // the ack never comes
	defer nb.Thaw()
	done := make(chan error, 1)
	// The default exchange needs no check: the publish goes straight to its
	// confirm wait.
	go func() { done <- tree.Publish(context.Background(), "", "k", []byte(`{}`), publish.Confirm()) }()
	waitPublishers(t, tree, "one published", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Published }) >= 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tree.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := testkit.Recv(t, done, 5*time.Second, "the confirmed publish released by Shutdown"); err == nil {
		t.Fatal("a publish the broker never confirmed succeeded")
	}
	if err := tree.Publish(context.Background(), "kapps", "k", nil); !errors.Is(err, publish.ErrStopped) {
		t.Fatalf("publish after shutdown = %v", err)
	}
}

func TestPublishReply_ThroughThePool(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "reply-q", "", "")
	pool, err := tree.Publishers()
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.PublishReply(within(t, 5*time.Second), "", "reply-q", []byte(`{}`), "corr-1", "application/json"); err != nil {
		t.Fatal(err)
	}
	if m := next(t, d); m.CorrelationId != "corr-1" {
		t.Fatalf("reply %+v", m)
	}
	if pool.Config().Publishers != publish.DefaultPublishers {
		t.Fatalf("spec %+v", pool.Config())
	}
}

// One goroutine keeps a window of deferred publishes in flight: every one
// is confirmed, counted and delivered.
func TestPublishDeferred_AWindowFromOneGoroutine(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "pipe-q", "kapps", "pipe")
	ctx := within(t, 10*time.Second)
	const n, window = 1000, 64
	var pending []*publish.Pending
	for i := range n {
		if len(pending) == window {
			if err := pending[0].Wait(ctx); err != nil {
				t.Fatalf("publish %d: %v", i-window, err)
			}
			pending = pending[1:]
		}
		pd, err := tree.PublishDeferred(ctx, "kapps", "pipe", []byte(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, pd)
	}
	for _, pd := range pending {
		if err := pd.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if err := pd.Wait(ctx); err != nil { // the same answer again
			t.Fatalf("second wait: %v", err)
		}
	}
	for range n {
		next(t, d)
	}
	waitPublishers(t, tree, "all confirmed", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Confirmed }) == n
	})
}

// Mandatory and AllZones are refused before anything is written; a
// deferred publish whose channel the broker closes over its size fails its
// Wait with ErrTooLarge naming the broker's limit.
func TestPublishDeferred_RefusalsAndAChannelClosedBeforeTheAck(t *testing.T) {
	nb := startNull(t, nullbroker.Config{MaxMessageSize: 100})
	tree := pubTree(t, nb, publish.Config{})
	ctx := within(t, 10*time.Second)
	if _, err := tree.PublishDeferred(ctx, "kapps", "k", []byte(`{}`), publish.Mandatory()); err == nil || !strings.Contains(err.Error(), "Mandatory") {
		t.Fatalf("mandatory: %v", err)
	}
	if _, err := tree.PublishDeferred(ctx, "kapps", "k", []byte(`{}`), publish.ToZone(publish.AllZones)); err == nil || !strings.Contains(err.Error(), "AllZones") {
		t.Fatalf("all zones: %v", err)
	}
	pd, err := tree.PublishDeferred(ctx, "kapps", "k", make([]byte, 200))
	if err != nil {
		t.Fatal(err) // written: only the broker knows its limit
	}
	err = pd.Wait(ctx)
	if !errors.Is(err, publish.ErrTooLarge) || !strings.Contains(err.Error(), "the broker's max_message_size is 100") {
		t.Fatalf("wait: %v", err)
	}
	select {
	case <-pd.Done():
	default:
		t.Fatal("Done not closed after the channel closed")
	}
	// The pool carries on on a new channel.
	pd, err = tree.PublishDeferred(ctx, "kapps", "k", []byte(`{}`))
	if err == nil {
		err = pd.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("after the close: %v", err)
	}
}

// A publisher's row shows a confirmed publish waiting for its ack (in
// flight), then the mean time to the ack: no shorter than the broker held
// the ack after the row showed it waiting (until the row's next write), no
// longer than the Publish took.
func TestPublish_RowShowsAConfirmInFlightThenItsMeanTime(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	if err := tree.Publish(within(t, 5*time.Second), "", "k", []byte(`{}`)); err != nil { // the lanes are ready
		t.Fatal(err)
	}
	nb.Freeze() // no ack until Thaw
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- tree.Publish(within(t, 10*time.Second), "", "k", []byte(`{}`), publish.Confirm()) }()
	waitPublishers(t, tree, "the confirm in flight", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return uint64(r.InFlight) }) == 1
	})
	seen := time.Now()
	// Let the ack wait for the row's next write: a fire-and-forget publish
	// (written into the frozen socket) moves the counters it shows.
	if err := tree.Publish(within(t, 5*time.Second), "", "k", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	waitPublishers(t, tree, "the next write of the row", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Published }) == 3
	})
	held := time.Since(seen)
	nb.Thaw()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	rows := waitPublishers(t, tree, "the confirm's time", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Confirmed }) == 1 &&
			total(rows, func(r registry.Publisher) uint64 { return uint64(r.InFlight) }) == 0
	})
	for _, r := range rows {
		if r.Confirmed == 1 {
			if got := time.Duration(r.ConfirmMeanMs * float64(time.Millisecond)); got < held || got > took {
				t.Fatalf("confirm mean %v; want between %v (held) and %v (the whole Publish)", got, held, took)
			}
			return
		}
	}
}
