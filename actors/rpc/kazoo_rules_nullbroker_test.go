package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests hold the rules Warren's RPC worker takes from Kazoo's
// kz_amqp_worker: VFun and its negative threshold, Defer-Response,
// call_custom, relay_to, whapp counts and basic.return.

// answerer spawns a listener on "callmgr" with keys that answers every
// request with fields, once hold is closed (at once when nil).
func answerer(t *testing.T, tree *supervisor.Tree, name string, keys []string, fields map[string]any, hold <-chan struct{}) {
	t.Helper()
	var binds []listener.Binding
	for _, k := range keys {
		binds = append(binds, listener.Binding{Exchange: "callmgr", RoutingKey: k})
	}
	pid, err := tree.SpawnListener(within(t, 5*time.Second), listener.Spec{Name: name,
		Queue: listener.QueueSpec{Name: name + "-q", AutoDelete: true}, Bindings: binds, Defaults: app,
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			if hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			reply := map[string]any{"Event-Category": "test", "Event-Name": "answer"}
			for k, v := range fields {
				reply[k] = v
			}
			return d.Reply(ctx, reply)
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
}

// positive is the Validate of these tests.
func positive(e kazoo.Envelope) bool { return e.Text("Result") == "ok" }

// repliesOf is the replies counter of a one-worker tree.
func repliesOf(t *testing.T, tree *supervisor.Tree) uint64 {
	t.Helper()
	return waitWorkers(t, tree, "one worker", func(rows []registry.RPCWorker) bool { return len(rows) == 1 })[0].Replies
}

// waitReplies waits until the worker of a one-worker tree counted n replies.
func waitReplies(t *testing.T, tree *supervisor.Tree, n uint64) {
	t.Helper()
	waitWorkers(t, tree, "replies counted", func(rows []registry.RPCWorker) bool { return len(rows) == 1 && rows[0].Replies >= n })
}

func TestCall_NegativeRepliesUpToTheThreshold(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	hold := make(chan struct{})
	defer close(hold)
	for _, name := range []string{"nack1", "nack2"} {
		answerer(t, tree, name, []string{"neg.two", "neg.then-ok", "neg.short"}, map[string]any{"Result": "nack", "By": name}, nil)
	}
	okHold := make(chan struct{})
	answerer(t, tree, "good", []string{"neg.then-ok"}, map[string]any{"Result": "ok"}, okHold)
	answerer(t, tree, "late-good", []string{"neg.two"}, map[string]any{"Result": "ok"}, hold)

	t.Run("with a threshold of 2 the second negative fails the call at once", func(t *testing.T) {
		req := request("neg.two")
		req.Validate, req.NegativeThreshold = positive, 2
		cctx := within(t, 10*time.Second)
		_, err := tree.Call(cctx, req)
		var ne *rpc.NegativeError
		if !errors.As(err, &ne) || ne.Count != 2 || ne.Reply.Text("Result") != "nack" ||
			!errors.Is(err, rpc.ErrNegativeReply) || errors.Is(err, rpc.ErrCallTimeout) {
			t.Fatalf("Call = %v; want a NegativeError of 2 negatives holding the last", err)
		}
		if cctx.Err() != nil {
			t.Fatalf("Call = %v, returned with its ctx ended; want it failed at the second negative", err)
		}
	})
	t.Run("below the threshold a valid reply still answers", func(t *testing.T) {
		base := repliesOf(t, tree)
		req := request("neg.then-ok")
		req.Validate, req.NegativeThreshold = positive, 3
		done := make(chan error, 1)
		var reply kazoo.Envelope
		go func() {
			var err error
			reply, err = tree.Call(within(t, 10*time.Second), req)
			done <- err
		}()
		waitReplies(t, tree, base+2) // both negatives in
		close(okHold)
		if err := testkit.Recv(t, done, 10*time.Second, "the call's end"); err != nil || reply.Text("Result") != "ok" {
			t.Fatalf("Call = %v, %v; want the valid reply after two negatives", reply, err)
		}
	})
	t.Run("fewer negatives than the threshold fail at the deadline", func(t *testing.T) {
		req := request("neg.short")
		req.Validate, req.NegativeThreshold = positive, 3
		_, err := tree.Call(within(t, 500*time.Millisecond), req)
		var ne *rpc.NegativeError
		if !errors.As(err, &ne) || ne.Count != 2 || !errors.Is(err, rpc.ErrCallTimeout) || !errors.Is(err, rpc.ErrNegativeReply) {
			t.Fatalf("Call = %v; want a NegativeError of 2 that is a timeout too", err)
		}
	})
}

func TestCall_DeferResponse(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	answerer(t, tree, "deferring", []string{"defer.alone", "defer.beaten"}, map[string]any{"Result": "ok", "By": "deferring", "Defer-Response": true}, nil)
	plainHold := make(chan struct{})
	answerer(t, tree, "plain", []string{"defer.beaten"}, map[string]any{"Result": "ok", "By": "plain"}, plainHold)

	t.Run("a held reply is returned at the deadline", func(t *testing.T) {
		start := time.Now()
		reply, err := tree.Call(within(t, 700*time.Millisecond), request("defer.alone"))
		if err != nil || reply.Text("By") != "deferring" {
			t.Fatalf("Call = %v, %v; want the deferred reply without error", reply, err)
		}
		if took := time.Since(start); took < 600*time.Millisecond {
			t.Fatalf("returned after %v: the deferred reply was not held until the deadline", took)
		}
	})
	t.Run("a reply without Defer-Response beats the held one", func(t *testing.T) {
		base := repliesOf(t, tree)
		req := request("defer.beaten")
		req.Validate = positive
		done := make(chan error, 1)
		var reply kazoo.Envelope
		go func() {
			var err error
			reply, err = tree.Call(within(t, 10*time.Second), req)
			done <- err
		}()
		waitReplies(t, tree, base+1) // the deferred one is held
		close(plainHold)
		if err := testkit.Recv(t, done, 10*time.Second, "the call's end"); err != nil || reply.Text("By") != "plain" {
			t.Fatalf("Call = %v, %v; want the plain reply", reply, err)
		}
	})
}

// hasBinding reports whether the null broker binds queue to callmgr with key.
func hasBinding(nb *nullbroker.Server, queue, key string) bool {
	for _, b := range nb.Bindings() {
		if b.Source == "callmgr" && b.Destination == queue && b.RoutingKey == key {
			return true
		}
	}
	return false
}

func TestCall_BindsForTheCallAndRelaysWhatItBrings(t *testing.T) {
	tree, nb := rpcTree(t, 1)
	hold, mute := make(chan struct{}), make(chan struct{})
	defer close(mute)
	answerer(t, tree, "custom", []string{"ask.custom"}, map[string]any{"By": "custom"}, hold)
	answerer(t, tree, "mute", []string{"ask.mute"}, nil, mute)
	queue := waitWorkers(t, tree, "one worker", func(rows []registry.RPCWorker) bool { return len(rows) == 1 })[0].Queue
	relayed := make(chan kazoo.Envelope, 4)
	req := request("ask.custom")
	req.Bind = []rpc.Binding{{Exchange: "callmgr", RoutingKey: "events.custom"}}
	req.Relay = func(e kazoo.Envelope) { relayed <- e }

	done := make(chan error, 1)
	var reply kazoo.Envelope
	go func() {
		var err error
		reply, err = tree.Call(within(t, 10*time.Second), req)
		done <- err
	}()
	testkit.Await(t, 5*time.Second, "the call's binding added", nb.Changed, func() bool { return hasBinding(nb, queue, "events.custom") })
	event, _ := json.Marshal(kazoo.Envelope{"Event-Category": "conference", "Event-Name": "event", "Msg-ID": "not-a-reply",
		"App-Name": "test", "App-Version": "1"})
	if err := tree.Publish(within(t, 5*time.Second), "callmgr", "events.custom", event); err != nil {
		t.Fatal(err)
	}
	if e := testkit.Recv(t, relayed, 5*time.Second, "the event relayed"); e.Name() != "event" {
		t.Fatalf("relayed %v, want the event", e)
	}
	close(hold)
	if err := testkit.Recv(t, done, 10*time.Second, "the call's end"); err != nil || reply.Text("By") != "custom" {
		t.Fatalf("Call = %v, %v", reply, err)
	}
	testkit.Await(t, 5*time.Second, "the binding removed after the call", nb.Changed, func() bool { return !hasBinding(nb, queue, "events.custom") })

	// A call that times out removes its binding too.
	req = request("ask.mute")
	req.Bind = []rpc.Binding{{Exchange: "callmgr", RoutingKey: "events.muted"}}
	if _, err := tree.Call(within(t, 300*time.Millisecond), req); !errors.Is(err, rpc.ErrCallTimeout) {
		t.Fatalf("Call = %v, want a timeout", err)
	}
	testkit.Await(t, 5*time.Second, "the binding removed after the timeout", nb.Changed, func() bool { return !hasBinding(nb, queue, "events.muted") })

	// A binding to a missing exchange, or to the default one, fails the
	// call, not the worker.
	req = request("ask.custom")
	req.Bind = []rpc.Binding{{Exchange: "no-such-exchange", RoutingKey: "x"}}
	if _, err := tree.Call(within(t, 5*time.Second), req); err == nil || !strings.Contains(err.Error(), "no-such-exchange") {
		t.Fatalf("Call binding a missing exchange = %v", err)
	}
	req.Bind = []rpc.Binding{{Exchange: "", RoutingKey: "x"}}
	if _, err := tree.Call(within(t, 5*time.Second), req); err == nil || !strings.Contains(err.Error(), "default exchange") {
		t.Fatalf("Call binding the default exchange = %v", err)
	}
	if reply, err := tree.Call(within(t, 5*time.Second), request("ask.custom")); err != nil || reply.Text("By") != "custom" {
		t.Fatalf("Call after = %v, %v", reply, err)
	}
}

func TestCall_UnroutableFailsAtOnce(t *testing.T) {
	tree, _ := rpcTree(t, 1)
	responder(t, tree, "pong", "callmgr", "ping.bound", nil)
	for _, tt := range []struct {
		name string
		call func(context.Context) error
	}{
		{"Call", func(ctx context.Context) error { _, err := tree.Call(ctx, request("nobody.binds")); return err }},
		{"CallCollect", func(ctx context.Context) error {
			_, err := tree.CallCollect(ctx, request("nobody.binds"), rpc.UntilCount(2))
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cctx := within(t, 10*time.Second)
			err := tt.call(cctx)
			if !errors.Is(err, rpc.ErrUnroutable) || !strings.Contains(err.Error(), `exchange "callmgr" with routing key "nobody.binds"`) {
				t.Fatalf("%s = %v; want ErrUnroutable naming the exchange and key", tt.name, err)
			}
			if cctx.Err() != nil || errors.Is(err, rpc.ErrCallTimeout) {
				t.Fatalf("%s = %v, returned with its ctx ended; want it failed at the broker's return", tt.name, err)
			}
		})
	}
	if err := tree.Cast(within(t, 5*time.Second), request("nobody.binds")); err != nil {
		t.Fatalf("Cast to nobody = %v; a cast is fire and forget", err)
	}
	// The worker's channel is fine: the next call is answered.
	if reply, err := tree.Call(within(t, 5*time.Second), request("ping.bound")); err != nil || reply.Name() != "pong" {
		t.Fatalf("Call after = %v, %v", reply, err)
	}
}

func TestCallCollectApp_OfNoNodeReturnsAtOnce(t *testing.T) {
	tree, _ := rpcTree(t, 1) // runs no nodes actor: its nodes table is empty
	// Unpublished: to this unbound key a published request fails unroutable.
	for _, scope := range []rpc.NodeScope{{}, {AllZones: true}, {Shared: true}} {
		replies, err := tree.CallCollectApp(within(t, 5*time.Second), request("nobody.binds"), "ecallmgr", scope)
		if err != nil || replies == nil || len(replies) != 0 {
			t.Fatalf("CallCollectApp %+v of no node = %v, %v; want no reply and no error", scope, replies, err)
		}
	}
}

// The tree's own node advertises its listeners as its apps: a call
// collecting from the nodes running "pong" waits for exactly its one.
func TestCallCollectApp_CountsTheNodesRunningTheApp(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}},
		RPC: rpc.Config{Workers: 1, Node: "test@host"}}
	cfg.Nodes.Period = 100 * time.Millisecond
	tree, _ := treetest.Start(t, cfg, treetest.Nodes())
	treetest.WaitReady(t, tree, 10*time.Second)
	waitWorkers(t, tree, "ready", func(rows []registry.RPCWorker) bool { return len(rows) == 1 && rows[0].State == registry.WorkerReady })
	responder(t, tree, "pong", "callmgr", "ping.app", nil)
	responder(t, tree, "pong2", "callmgr", "ping.app", nil) // another app answering too: not counted
	treetest.Eventually(t, tree, 10*time.Second, "this node advertising pong", func() bool {
		for _, n := range tree.Nodes() {
			if n.Self && slices.Contains(n.Apps, "pong") && n.Zone == "local" {
				return true
			}
		}
		return false
	})
	replies, err := tree.CallCollectApp(within(t, 10*time.Second), request("ping.app"), "pong", rpc.NodeScope{})
	if err != nil || len(replies) != 1 {
		t.Fatalf("CallCollectApp = %d replies, %v; want the one of the one node running pong", len(replies), err)
	}
	replies, err = tree.CallCollectApp(within(t, 10*time.Second), request("ping.app"), "pong", rpc.NodeScope{AllZones: true, Shared: true})
	if err != nil || len(replies) != 1 {
		t.Fatalf("CallCollectApp in every zone, shared = %d replies, %v; want one", len(replies), err)
	}
}

// Asking every zone, a zone where no queue takes the request is no
// failure while another answered; nowhere at all is ErrUnroutable.
func TestCallCollect_AllZonesUnroutableInOneZone(t *testing.T) {
	local := treetest.NullBroker(t, nullbroker.Config{})
	east := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{local.URL()}}, {Name: "east", Brokers: []string{east.URL()}}},
		RPC: rpc.Config{Workers: 1, Node: "test@host"}}
	tree, _ := treetest.Start(t, cfg)
	treetest.WaitReady(t, tree, 10*time.Second)
	waitWorkers(t, tree, "the local and the east worker ready", func(rows []registry.RPCWorker) bool {
		ready := 0
		for _, r := range rows {
			if r.State == registry.WorkerReady {
				ready++
			}
		}
		return ready == 2
	})
	responder(t, tree, "pong", "callmgr", "ping.local", nil) // in the local zone only
	req := request("ping.local")
	req.Zone = rpc.AllZones
	replies, err := tree.CallCollect(within(t, 10*time.Second), req, rpc.UntilCount(1))
	if err != nil || len(replies) != 1 || replies[0].Name() != "pong" {
		t.Fatalf("CallCollect in every zone = %v, %v; want local's reply, east's unroutable request no failure", replies, err)
	}
	req.RoutingKey = "nobody.binds"
	if _, err := tree.CallCollect(within(t, 10*time.Second), req, rpc.UntilCount(1)); !errors.Is(err, rpc.ErrUnroutable) {
		t.Fatalf("CallCollect to a key no zone binds = %v, want ErrUnroutable", err)
	}
}
