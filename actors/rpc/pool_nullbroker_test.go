package rpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests run the RPC pool in a tree on internal/nullbroker: real
// sockets, real AMQP, no RabbitMQ node.

var app = kazoo.Defaults{AppName: "rpc-test", AppVersion: "1.0"}

// within is testkit.Within: a context that ends after d or with the test.
var within = testkit.Within

// rpcTree starts a null broker and a tree with n RPC workers on it, and
// waits until every worker is ready.
func rpcTree(t *testing.T, n int) (*supervisor.Tree, *nullbroker.Server) {
	t.Helper()
	nb := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}},
		RPC: rpc.Config{Workers: n, Node: "test@host"}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	treetest.WaitReady(t, tree, 10*time.Second)
	waitWorkers(t, tree, "all ready", func(rows []registry.RPCWorker) bool {
		for _, r := range rows {
			if r.State != registry.WorkerReady {
				return false
			}
		}
		return len(rows) == n
	})
	return tree, nb
}

// waitWorkers waits, on the registry's watches, until the workers' rows
// satisfy cond, and returns them.
func waitWorkers(t *testing.T, tree *supervisor.Tree, what string, cond func([]registry.RPCWorker) bool) []registry.RPCWorker {
	t.Helper()
	var rows []registry.RPCWorker
	err := tree.Registry().Wait(within(t, 10*time.Second), func(s *registry.Snapshot) (bool, error) {
		rows = s.Workers()
		return cond(rows), nil
	})
	if err != nil {
		t.Fatalf("workers: %s: %v (rows %+v)", what, err, rows)
	}
	return rows
}

// responder spawns a listener on exchange/key that answers every request
// with Event-Name name, the Kazoo way (Delivery.Reply).
func responder(t *testing.T, tree *supervisor.Tree, name, exchange, key string, delay <-chan struct{}) {
	t.Helper()
	pid, err := tree.SpawnListener(within(t, 5*time.Second), listener.Spec{Name: name,
		Queue:    listener.QueueSpec{Name: name + "-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: exchange, RoutingKey: key}}, Defaults: app,
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			if delay != nil {
				select {
				case <-delay:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return d.Reply(ctx, map[string]any{"Event-Category": "test", "Event-Name": name})
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
}

func request(key string) rpc.Request {
	return rpc.Request{Exchange: "callmgr", RoutingKey: key, Defaults: app,
		Envelope: kazoo.Envelope{"Event-Category": "test", "Event-Name": "ping"}}
}

func TestCall_AnsweredTheKazooWay(t *testing.T) {
	tree, _ := rpcTree(t, 2)
	responder(t, tree, "pong", "callmgr", "ping.kazoo", nil)
	reply, err := tree.Call(within(t, 5*time.Second), request("ping.kazoo"))
	if err != nil || reply.Name() != "pong" {
		t.Fatalf("Call = %v, %v", reply, err)
	}
	// Many calls at once on two workers.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			_, err := tree.Call(within(t, 5*time.Second), request("ping.kazoo"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows := waitWorkers(t, tree, "41 calls and replies counted", func(rows []registry.RPCWorker) bool {
		var calls, replies uint64
		for _, r := range rows {
			calls += r.Calls
			replies += r.Replies
		}
		return calls == 41 && replies == 41
	})
	for _, r := range rows {
		if !strings.HasPrefix(r.Queue, "test@host-warren_worker-workers-") || r.Broker == "" {
			t.Errorf("worker row %+v", r)
		}
	}
}

// A raw amqp091 peer answers through direct reply-to, as Warren peers do.
// A direct reply is routed by its correlation id and parsed by its caller:
// a malformed one is dropped and counted late, and the call takes the next.
func TestCall_DirectReplyTo(t *testing.T) {
	tree, nb := rpcTree(t, 1)
	conn, err := amqp.Dial(nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	q, _ := ch.QueueDeclare("direct-q", false, true, false, false, nil)
	if err := ch.QueueBind(q.Name, "ping.direct", "callmgr", false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, ok := <-deliveries
		if !ok || d.ReplyTo != rpc.DirectReplyTo && !strings.HasPrefix(d.ReplyTo, rpc.DirectReplyTo) {
			return
		}
		_ = ch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp.Publishing{
			ContentType: "application/json", CorrelationId: d.CorrelationId, Body: []byte(`{"Event-Category":`)})
		_ = ch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp.Publishing{
			ContentType: "application/json", CorrelationId: d.CorrelationId,
			Body: []byte(`{"Event-Category":"test","Event-Name":"direct-pong","App-Name":"peer","App-Version":"1","Msg-ID":"x"}`)})
	}()
	req := request("ping.direct")
	req.DirectReply = true
	reply, err := tree.Call(within(t, 5*time.Second), req)
	if err != nil || reply.Name() != "direct-pong" {
		t.Fatalf("Call = %v, %v", reply, err)
	}
	<-done
	waitWorkers(t, tree, "the malformed reply counted late", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].Late == 1
	})
}

func TestCallCollect_GathersEveryResponder(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	for _, name := range []string{"r1", "r2", "r3"} {
		responder(t, tree, name, "callmgr", "ping.all", nil)
	}
	replies, err := tree.CallCollect(within(t, 5*time.Second), request("ping.all"), rpc.UntilCount(3))
	if err != nil || len(replies) != 3 {
		t.Fatalf("CallCollect = %d replies, %v", len(replies), err)
	}
	// Asking for more than there are: the deadline, with what came; the
	// error names the ctx's deadline as what ended the call.
	replies, err = tree.CallCollect(within(t, 500*time.Millisecond), request("ping.all"), rpc.UntilCount(4))
	if !errors.Is(err, rpc.ErrCallTimeout) || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) || len(replies) != 3 {
		t.Fatalf("CallCollect past its deadline = %d replies, %v; want the 3 with ErrCallTimeout naming the deadline", len(replies), err)
	}
}

func TestCall_TimesOutByItsDeadlineAndCountsLateReplies(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	release := make(chan struct{})
	responder(t, tree, "slow", "callmgr", "ping.slow", release)
	_, err := tree.Call(within(t, 300*time.Millisecond), request("ping.slow"))
	if !errors.Is(err, rpc.ErrCallTimeout) || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Fatalf("Call = %v; want ErrCallTimeout ended by its deadline", err)
	}
	close(release) // the reply arrives after its caller gave up
	waitWorkers(t, tree, "one timeout and one late reply", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].Timeouts == 1 && rows[0].Late == 1
	})
	// Without a deadline a call waits rpc.DefaultCallTimeout (for a
	// responder that never answers: to a key nobody binds it fails at once).
	mute := make(chan struct{})
	defer close(mute) // before the tree's shutdown drains its handler
	responder(t, tree, "mute", "callmgr", "ping.mute", mute)
	start := time.Now()
	_, err = tree.Call(context.Background(), request("ping.mute"))
	if took := time.Since(start); !errors.Is(err, rpc.ErrCallTimeout) || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) || took < rpc.DefaultCallTimeout {
		t.Fatalf("Call without a deadline = %v after %v; want ErrCallTimeout at the default deadline", err, took)
	}
}

func TestCall_BadRequestsFailAtOnce(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	req := request("k")
	req.Defaults = kazoo.Defaults{} // Kazoo requires App-Name and App-Version
	_, err := tree.Call(within(t, 5*time.Second), req)
	var ce *rpc.CallError
	if !errors.As(err, &ce) || ce.Op != "prepare request" || ce.MsgID == "" || !strings.Contains(err.Error(), "App-Name") {
		t.Fatalf("Call without defaults = %v", err)
	}
	if !errors.Is(ce, ce.Err) {
		t.Fatal("CallError does not unwrap")
	}
	req = request("k")
	req.Exchange = "no-such-exchange"
	if _, err := tree.Call(within(t, 5*time.Second), req); !errors.Is(err, actors.ErrNoExchange) {
		t.Fatalf("Call to a missing exchange = %v", err)
	}
}

func TestCast_PublishesWithoutWaiting(t *testing.T) {
	tree, nb := rpcTree(t, 1)
	got := make(chan string, 1)
	pid, err := tree.SpawnListener(within(t, 5*time.Second), listener.Spec{Name: "sink",
		Queue:    listener.QueueSpec{Name: "sink-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "cast.#"}},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			got <- d.Envelope.Text("App-Name")
			return nil
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	if err := tree.Cast(within(t, 5*time.Second), request("cast.one")); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-got:
		if name != app.AppName {
			t.Fatalf("cast arrived with App-Name %q", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cast never arrived")
	}
	_ = nb
}

func TestCall_WhileTheBrokerIsDownAndAfter(t *testing.T) {
	tree, nb := rpcTree(t, 1)
	responder(t, tree, "back", "callmgr", "ping.back", nil)
	before := tree.Registry().Listeners()[0].Channel
	nb.Kill() // keeps listening: Warren reconnects
	// A call during the outage returns: with the broker's error, at its
	// deadline, or answered if the reconnect was quicker.
	if reply, err := tree.Call(within(t, 300*time.Millisecond), request("ping.back")); err == nil && reply.Name() != "back" {
		t.Fatalf("a call during the outage answered %v", reply)
	}
	waitWorkers(t, tree, "ready again", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].State == registry.WorkerReady
	})
	// The responder's listener comes back on its own schedule.
	treetest.Eventually(t, tree, 10*time.Second, "the responder consuming on a new channel", func() bool {
		ls := tree.Registry().Listeners()
		return len(ls) == 1 && ls[0].State == registry.ListenerConsuming && ls[0].Channel != before
	})
	reply, err := tree.Call(within(t, 5*time.Second), request("ping.back"))
	if err != nil || reply.Name() != "back" {
		t.Fatalf("Call after the reconnect = %v, %v", reply, err)
	}
}

func TestCall_WithoutWorkers(t *testing.T) {
	nb, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	tree, err := supervisor.Start(supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}},
		RPC: rpc.Config{Workers: -1}}, supervisor.WithLogger(supervisor.DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Shutdown(context.Background())
	if _, err := tree.Call(within(t, time.Second), request("k")); !errors.Is(err, rpc.ErrStopped) {
		t.Fatalf("Call without workers = %v", err)
	}
	if _, err := tree.CallCollect(within(t, time.Second), request("k"), rpc.UntilCount(1)); !errors.Is(err, rpc.ErrStopped) {
		t.Fatalf("CallCollect without workers = %v", err)
	}
}

// A worker's row shows a call waiting for its reply (busy), then the mean
// time of its answered calls: a slow call, held from the moment the row
// showed it until the row's next write (a quick call's), and the quick one.
func TestCall_WorkerRowShowsTheCallInFlightThenItsMeanTime(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	hold := make(chan struct{})
	responder(t, tree, "slow", "callmgr", "ping.slow", hold)
	responder(t, tree, "quick", "callmgr", "ping.quick", nil)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := tree.Call(within(t, 10*time.Second), request("ping.slow"))
		done <- err
	}()
	waitWorkers(t, tree, "the call in flight", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].Busy == 1 && rows[0].MeanMs == 0
	})
	seen := time.Now()
	quickStart := time.Now()
	if _, err := tree.Call(within(t, 5*time.Second), request("ping.quick")); err != nil {
		t.Fatal(err)
	}
	quick := time.Since(quickStart)
	waitWorkers(t, tree, "the quick call written", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].Calls == 2 && rows[0].Busy == 1
	})
	held := time.Since(seen)
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slow := time.Since(start)
	rows := waitWorkers(t, tree, "both calls' time", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].Busy == 0 && rows[0].MeanMs > 0
	})
	// The slow call lasted at least held: the mean of the two at least half of it.
	if got := time.Duration(rows[0].MeanMs * float64(time.Millisecond)); got < held/2 || got > (slow+quick)/2 {
		t.Fatalf("mean %v; want between %v (half the hold) and %v (the calls' own mean)", got, held/2, (slow+quick)/2)
	}
}
