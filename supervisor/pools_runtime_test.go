package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests add pools to a running tree of two null brokers, a and b,
// in one zone: unclustered, so a message published on the wrong one
// never reaches the queue a test reads on the other.

type poolsRig struct {
	tree     *supervisor.Tree
	a, b     *nullbroker.Server
	ida, idb string
}

var poolApp = kazoo.Defaults{AppName: "pools-test", AppVersion: "1.0"}

// poolsTree starts the tree without publishers (listeners then reply on
// their own channel, on the broker they consume from) and one RPC worker
// (publishing is split: pools take their channels on the brokers'
// publishing connections), and waits for both brokers' connections.
func poolsTree(t *testing.T) *poolsRig { return poolsTreeTagging(t, "") }

// poolsTreeTagging is poolsTree with broker b tagged bTags (config.ini's
// "?tags=" on its amqp_uri); "" for none.
func poolsTreeTagging(t *testing.T, bTags string) *poolsRig {
	t.Helper()
	a, b := treetest.NullBroker(t, nullbroker.Config{}), treetest.NullBroker(t, nullbroker.Config{})
	bURI := b.URL()
	if bTags != "" {
		bURI += "?tags=" + bTags
	}
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{a.URL(), bURI}}},
		RPC: rpc.Config{Workers: 1, Node: "test@host"}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.Publish.Publishers = -1
	tree, _ := treetest.Start(t, cfg)
	treetest.WaitReady(t, tree, 10*time.Second)
	r := &poolsRig{tree: tree, a: a, b: b}
	r.ida, _ = actors.BrokerID(a.URL())
	r.idb, _ = actors.BrokerID(b.URL())
	for _, id := range []string{r.ida, r.idb, actors.ConnID(r.ida, registry.Publish), actors.ConnID(r.idb, registry.Publish)} {
		treetest.WaitConnection(t, tree, id, 10*time.Second, "available", func(c registry.Connection) bool { return c.Available })
	}
	return r
}

// add adds spec, failing the test on an error.
func (r *poolsRig) add(t *testing.T, spec supervisor.PoolSpec) {
	t.Helper()
	if err := r.tree.AddPool(testkit.Within(t, 5*time.Second), spec); err != nil {
		t.Fatalf("AddPool(%+v): %v", spec, err)
	}
}

// responder spawns a listener on broker (sticky) answering callmgr/key.
func (r *poolsRig) responder(t *testing.T, broker, key string, got chan<- string, gate <-chan struct{}) {
	t.Helper()
	pid, err := r.tree.SpawnListener(testkit.Within(t, 5*time.Second), listener.Spec{Name: "pong",
		Channel: registry.Sticky, Broker: broker,
		Queue:    listener.QueueSpec{Name: "pong-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: key}}, Defaults: poolApp,
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			if got != nil {
				got <- d.Envelope.MsgID()
			}
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return d.Reply(ctx, map[string]any{"Event-Category": "test", "Event-Name": "pong"})
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.tree.WaitConsuming(testkit.Within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
}

// sink declares exchange "pool-x" on both brokers and a queue "pool-q"
// bound to it with key "k" on each, and returns b's channel for reading.
func (r *poolsRig) sink(t *testing.T) *amqp.Channel {
	t.Helper()
	var chb *amqp.Channel
	for _, nb := range []*nullbroker.Server{r.a, r.b} {
		ch := testkit.AMQPChannel(t, nb.URL())
		if err := ch.ExchangeDeclare("pool-x", "direct", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("pool-q", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind("pool-q", "k", "pool-x", false, nil); err != nil {
			t.Fatal(err)
		}
		chb = ch
	}
	return chb
}

func queued(nb *nullbroker.Server) int {
	q, _ := nb.Queue("pool-q")
	return q.Messages
}

func callReq(key, pool string) rpc.Request {
	return rpc.Request{Exchange: kazoo.ExchangeCallmgr, RoutingKey: key, Defaults: poolApp, Pool: pool,
		Envelope: kazoo.Envelope{"Event-Category": "test", "Event-Name": "ping"}}
}

func TestAddPool_WorkersPinnedToABrokerServeCalls(t *testing.T) {
	r := poolsTree(t)
	r.add(t, supervisor.PoolSpec{Name: "billing", Kind: supervisor.Workers, Broker: r.idb, Size: 2})
	onB := actors.ConnID(r.idb, registry.Publish)
	treetest.Eventually(t, r.tree, 10*time.Second, "both workers of billing ready on b", func() bool {
		n := 0
		for _, w := range r.tree.Registry().Workers() {
			if w.Pool == "billing" && w.State == registry.WorkerReady && w.Broker == onB {
				n++
			}
		}
		return n == 2
	})
	for _, a := range r.tree.Registry().Assignments() {
		if strings.HasPrefix(a.Consumer, "warren/billing/") && (a.Type != registry.Sticky || a.Broker != onB) {
			t.Fatalf("assignment of a billing worker = %+v: want sticky on %s", a, onB)
		}
	}
	r.responder(t, r.idb, "ping.billing", nil, nil)
	for range 10 {
		reply, err := r.tree.Call(testkit.Within(t, 5*time.Second), callReq("ping.billing", "billing"))
		if err != nil || reply.Name() != "pong" {
			t.Fatalf("Call through billing = %v, %v", reply, err)
		}
	}
	replies, err := r.tree.CallCollect(testkit.Within(t, 5*time.Second), callReq("ping.billing", "billing"), rpc.UntilCount(1))
	if err != nil || len(replies) != 1 {
		t.Fatalf("CallCollect through billing = %v, %v", replies, err)
	}

	t.Run("the pool is a supervisor of the tree", func(t *testing.T) {
		var sup *registry.TreeNode
		for _, c := range r.tree.Snapshot().Children {
			if c.Name == "billing" {
				sup = c
			}
		}
		if sup == nil || sup.Kind != registry.Supervisor || len(sup.Children) != 2 || !strings.Contains(sup.Detail, r.idb) {
			t.Fatalf("billing in the tree = %+v", sup)
		}
	})
	t.Run("Pools lists it", func(t *testing.T) {
		var got *supervisor.PoolInfo
		for _, p := range r.tree.Pools() {
			if p.Name == "billing" {
				got = &p
			}
		}
		want := supervisor.PoolInfo{Name: "billing", Kind: supervisor.Workers, Zone: "local", Broker: r.idb, Size: 2, Added: true}
		if got == nil || *got != want {
			t.Fatalf("Pools()'s billing = %+v, want %+v (all: %+v)", got, want, r.tree.Pools())
		}
	})
}

func TestAddPool_PublishersPinnedToABroker(t *testing.T) {
	r := poolsTree(t)
	r.sink(t)
	r.add(t, supervisor.PoolSpec{Name: "audit", Kind: supervisor.Publishers, Broker: r.idb, Size: 2})
	for i := range 20 {
		err := r.tree.Publish(testkit.Within(t, 5*time.Second), "pool-x", "k", []byte(fmt.Sprint(i)),
			publish.ViaPool("audit"), publish.Confirm())
		if err != nil {
			t.Fatalf("publish %d through audit: %v", i, err)
		}
	}
	if got := queued(r.b); got != 20 { // confirmed: routed on b already
		t.Fatalf("b's queue holds %d messages, want the 20 confirmed", got)
	}
	if got := queued(r.a); got != 0 {
		t.Fatalf("a's queue holds %d messages: the pool published off its broker", got)
	}
	onB := actors.ConnID(r.idb, registry.Publish)
	var rows []registry.Publisher
	treetest.Eventually(t, r.tree, 5*time.Second, "both publishers of audit ready", func() bool {
		rows = rows[:0]
		for _, p := range r.tree.Registry().Publishers() {
			if p.Pool == "audit" && p.State == registry.PublisherReady {
				rows = append(rows, p)
			}
		}
		return len(rows) == 2
	})
	for _, p := range rows {
		if p.Broker != onB || !strings.HasPrefix(p.ID, "warren/audit/audit-") {
			t.Fatalf("publishers row %+v: want on %s", p, onB)
		}
	}
	for _, a := range r.tree.Registry().Assignments() { // the publishers' channels and their plain children's
		if strings.HasPrefix(a.Consumer, "warren/audit/") && (a.Type != registry.Sticky || a.Broker != onB) {
			t.Fatalf("assignment of an audit publisher = %+v: want sticky on %s", a, onB)
		}
	}
}

// A pool pinned by tag (Kazoo's broker_tag) takes its channels on the
// zone's broker with that tag only: b is tagged "media", a is not.
func TestAddPool_PublishersPinnedByTagDeliverOnTheTaggedBroker(t *testing.T) {
	r := poolsTreeTagging(t, "media")
	r.sink(t)
	r.add(t, supervisor.PoolSpec{Name: "media", Kind: supervisor.Publishers, Tag: "media", Size: 1})
	for i := range 10 {
		err := r.tree.Publish(testkit.Within(t, 5*time.Second), "pool-x", "k", []byte(fmt.Sprint(i)),
			publish.ViaPool("media"), publish.Confirm())
		if err != nil {
			t.Fatalf("publish %d through the media pool: %v", i, err)
		}
	}
	if a, b := queued(r.a), queued(r.b); a != 0 || b != 10 {
		t.Fatalf("queues: a holds %d, b (tagged media) %d; want 0 and the 10 confirmed", a, b)
	}
	for _, as := range r.tree.Registry().Assignments() {
		if strings.HasPrefix(as.Consumer, "warren/media/") && as.Channel != "" && (as.Tag != "media" || as.Broker != actors.ConnID(r.idb, registry.Publish)) {
			t.Fatalf("assignment of a media publisher = %+v: want it asked by tag media, on b's publishing connection", as)
		}
	}
}

func TestRemovePool_WhilePublishing_LosesNothing(t *testing.T) {
	r := poolsTree(t)
	chb := r.sink(t)
	r.add(t, supervisor.PoolSpec{Name: "audit", Kind: supervisor.Publishers, Broker: r.idb, Size: 2})
	var (
		mu        sync.Mutex
		confirmed = map[string]bool{}
		failed    []error
		count     testkit.Counter
		wg        sync.WaitGroup
	)
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				err := r.tree.Publish(testkit.Within(t, 10*time.Second), "pool-x", "k", []byte(id),
					publish.ViaPool("audit"), publish.Confirm(), publish.MessageID(id))
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
					mu.Unlock()
					return
				}
				confirmed[id] = true
				mu.Unlock()
				count.Add(1)
			}
		})
	}
	testkit.Await(t, 10*time.Second, "100 publishes confirmed", count.Changed, func() bool { return count.Load() >= 100 })
	removing := time.Now()
	if err := r.tree.RemovePool(testkit.Within(t, 10*time.Second), "audit"); err != nil {
		t.Fatalf("RemovePool: %v", err)
	}
	took := time.Since(removing)
	wg.Wait()
	for _, err := range failed {
		if !errors.Is(err, supervisor.ErrPoolRemoved) && !errors.Is(err, supervisor.ErrNoPool) {
			t.Errorf("a publish failed with %v: want ErrPoolRemoved or ErrNoPool", err)
		}
	}
	if len(failed) != 4 {
		t.Fatalf("%d publishers failed, want each of the 4 to end with an error", len(failed))
	}
	arrived := map[string]bool{}
	for {
		d, ok, err := chb.Get("pool-q", true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		arrived[d.MessageId] = true
	}
	for id := range confirmed {
		if !arrived[id] {
			t.Errorf("publish %s was confirmed but is not in b's queue", id)
		}
	}
	t.Logf("%d confirmed, %d in b's queue; RemovePool under 4 publishing goroutines took %v", len(confirmed), len(arrived), took)

	t.Run("it is gone from the tree, the tables and the routes", func(t *testing.T) {
		if _, ok := r.tree.Registry().Actor("warren/audit"); ok {
			t.Fatal("warren/audit still in the actors table")
		}
		for _, p := range r.tree.Registry().Publishers() {
			if p.Pool == "audit" {
				t.Fatalf("publishers row left: %+v", p)
			}
		}
		treetest.Eventually(t, r.tree, 5*time.Second, "the pool's channels given back", func() bool {
			for _, a := range r.tree.Registry().Assignments() {
				if strings.HasPrefix(a.Consumer, "warren/audit/") {
					return false
				}
			}
			return true
		})
		err := r.tree.Publish(context.Background(), "pool-x", "k", nil, publish.ViaPool("audit"))
		if !errors.Is(err, supervisor.ErrNoPool) {
			t.Fatalf("publish through the removed pool = %v, want ErrNoPool", err)
		}
		for _, p := range r.tree.Pools() {
			if p.Name == "audit" {
				t.Fatalf("Pools() lists audit still: %+v", p)
			}
		}
		// The name is free again.
		r.add(t, supervisor.PoolSpec{Name: "audit", Kind: supervisor.Publishers, Zone: "local", Size: 1})
	})
}

func TestRemovePool_LetsACallInFlightFinish(t *testing.T) {
	r := poolsTree(t)
	r.add(t, supervisor.PoolSpec{Name: "billing", Kind: supervisor.Workers, Broker: r.idb, Size: 1})
	got, gate := make(chan string, 1), make(chan struct{})
	r.responder(t, r.idb, "ping.slow", got, gate)
	called := make(chan error, 1)
	go func() {
		reply, err := r.tree.Call(testkit.Within(t, 10*time.Second), callReq("ping.slow", "billing"))
		if err == nil && reply.Name() != "pong" {
			err = fmt.Errorf("reply %q", reply.Name())
		}
		called <- err
	}()
	testkit.Recv(t, got, 10*time.Second, "the request at the responder")
	removed := make(chan error, 1)
	go func() { removed <- r.tree.RemovePool(testkit.Within(t, 10*time.Second), "billing") }()
	treetest.Eventually(t, r.tree, 5*time.Second, "the tree shows billing draining", func() bool {
		sup, _ := r.tree.Registry().Actor("warren/billing")
		return strings.HasPrefix(sup.Detail, "removing: draining")
	})
	if ps := r.tree.Pools(); !slices.ContainsFunc(ps, func(p supervisor.PoolInfo) bool { return p.Name == "billing" && p.Removing }) {
		t.Fatalf("Pools() = %+v: want billing removing", ps)
	}
	_, err := r.tree.Call(testkit.Within(t, 5*time.Second), callReq("ping.slow", "billing"))
	if !errors.Is(err, supervisor.ErrPoolRemoved) {
		t.Fatalf("a new call while billing is removed = %v, want ErrPoolRemoved at once", err)
	}
	select {
	case err := <-removed:
		t.Fatalf("RemovePool returned %v while a call was in flight", err)
	default:
	}
	close(gate)
	if err := testkit.Recv(t, called, 10*time.Second, "the call in flight"); err != nil {
		t.Fatalf("the call in flight: %v", err)
	}
	if err := testkit.Recv(t, removed, 10*time.Second, "RemovePool"); err != nil {
		t.Fatalf("RemovePool: %v", err)
	}
}

func TestAddPool_Refuses(t *testing.T) {
	r := poolsTree(t)
	r.add(t, supervisor.PoolSpec{Name: "billing", Kind: supervisor.Workers, Size: 1})
	ctx := testkit.Within(t, 5*time.Second)
	for _, tt := range []struct {
		name    string
		spec    supervisor.PoolSpec
		wantIs  error
		wantMsg string
	}{
		{"a duplicate name", supervisor.PoolSpec{Name: "billing", Kind: supervisor.Publishers}, supervisor.ErrPoolExists, `"billing"`},
		{"a root child's name", supervisor.PoolSpec{Name: "listeners", Kind: supervisor.Workers}, supervisor.ErrPoolExists, "child of the root"},
		{"an unknown broker", supervisor.PoolSpec{Name: "x", Kind: supervisor.Workers, Broker: "10.9.9.9:5672"}, nil, `no broker "10.9.9.9:5672" (brokers: `},
		{"an unknown zone", supervisor.PoolSpec{Name: "x", Kind: supervisor.Workers, Zone: "mars"}, nil, `no zone "mars" (zones: local)`},
		{"a broker of another zone", supervisor.PoolSpec{Name: "x", Kind: supervisor.Workers, Broker: r.ida, Zone: "mars"}, nil, "is in zone \"local\""},
		{"an unknown kind", supervisor.PoolSpec{Name: "x", Kind: "listeners"}, nil, `kind "listeners"`},
		{"a name with a slash", supervisor.PoolSpec{Name: "a/b", Kind: supervisor.Workers}, nil, "letters, digits"},
		{"a broker and a tag", supervisor.PoolSpec{Name: "x", Kind: supervisor.Workers, Broker: r.ida, Tag: "t"}, nil, "not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := r.tree.AddPool(ctx, tt.spec)
			if err == nil || tt.wantIs != nil && !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("AddPool(%+v) = %v, want %v naming %q", tt.spec, err, tt.wantIs, tt.wantMsg)
			}
		})
	}
	if n := len(r.tree.Pools()); n != 2 { // workers, billing
		t.Fatalf("Pools() = %+v after refused adds", r.tree.Pools())
	}
	t.Run("an unknown pool fails a publish and a call at once", func(t *testing.T) {
		start := time.Now()
		err := r.tree.Publish(context.Background(), "x", "k", nil, publish.ViaPool("nope"), publish.Confirm())
		if !errors.Is(err, supervisor.ErrNoPool) || !strings.Contains(err.Error(), "billing") {
			t.Fatalf("publish = %v, want ErrNoPool naming the pools", err)
		}
		if _, err := r.tree.Call(context.Background(), callReq("k", "nope")); !errors.Is(err, supervisor.ErrNoPool) {
			t.Fatalf("call = %v, want ErrNoPool", err)
		}
		if err := r.tree.RemovePool(context.Background(), "nope"); !errors.Is(err, supervisor.ErrNoPool) {
			t.Fatalf("RemovePool = %v, want ErrNoPool", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("the refusals took %v: want at once", d)
		}
	})
	t.Run("a pool of the other kind is refused", func(t *testing.T) {
		err := r.tree.Publish(context.Background(), "x", "k", nil, publish.ViaPool("billing"))
		if err == nil || !strings.Contains(err.Error(), "runs workers, not publishers") {
			t.Fatalf("publish through a workers pool = %v", err)
		}
	})
	t.Run("a zone's own pool is one by its supervisor's name", func(t *testing.T) {
		err := r.tree.Publish(context.Background(), "x", "k", nil, publish.ViaPool("workers"))
		if err == nil || !strings.Contains(err.Error(), `pool "workers" runs workers, not publishers`) {
			t.Fatalf("publish through the zone's workers = %v", err)
		}
		// Nobody binds the key here: the broker returns the request (it
		// was made, through that pool), the tree does not refuse it.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := r.tree.Call(ctx, callReq("nobody.listens", "workers")); !errors.Is(err, rpc.ErrUnroutable) {
			t.Fatalf("call through the zone's workers = %v, want it returned unroutable", err)
		}
	})
	t.Run("a pool and a zone together are refused", func(t *testing.T) {
		req := callReq("k", "billing")
		req.Zone = "local"
		if _, err := r.tree.Call(context.Background(), req); err == nil || !strings.Contains(err.Error(), "not both") {
			t.Fatalf("call with a pool and a zone = %v", err)
		}
	})
}

func TestStart_RunsTheConfigsPools(t *testing.T) {
	a, b := treetest.NullBroker(t, nullbroker.Config{}), treetest.NullBroker(t, nullbroker.Config{})
	idb, _ := actors.BrokerID(b.URL())
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{a.URL(), b.URL()}}},
		Pools: []supervisor.PoolSpec{{Name: "billing", Kind: supervisor.Workers, Broker: idb, Size: 2}}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	onB := actors.ConnID(idb, registry.Publish)
	treetest.Eventually(t, tree, 10*time.Second, "billing's workers ready on b", func() bool {
		n := 0
		for _, w := range tree.Registry().Workers() {
			if w.Pool == "billing" && w.State == registry.WorkerReady && w.Broker == onB {
				n++
			}
		}
		return n == 2
	})
	if err := tree.RemovePool(testkit.Within(t, 5*time.Second), "billing"); err != nil {
		t.Fatalf("RemovePool of a config pool: %v", err)
	}
	if _, ok := tree.Registry().Actor("warren/billing"); ok {
		t.Fatal("warren/billing still in the tree")
	}
}
