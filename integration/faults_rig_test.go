package integration

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
	"go.uber.org/goleak"
)

// faultExchange is the durable topic exchange the scenarios publish to;
// the rig's listener binds its durable queue to it with "#".
const faultExchange = "warren-faults"

// faultRig is one scenario's setup: a broker (behind a toxiproxy proxy
// when the fault is on the network), a tree with fast heartbeats and
// backoff, a listener on a durable queue that records every delivery in
// the ledger, and the goroutine baseline taken before the tree started.
type faultRig struct {
	t        testing.TB
	b        *Broker
	px       *faultProxy // nil: Warren dials the broker directly
	tree     *supervisor.Tree
	logs     *testkit.LogBuffer
	l        *ledger
	base     goleak.Option
	listener *actor.PID
	queue    string
	raw      *amqp.Channel // a raw amqp091 channel on the broker, opened before the baseline
}

type rigOption func(*rigOptions)

type rigOptions struct {
	proxy bool
	tune  func(*supervisor.Config)
	spec  func(*listener.Spec)
}

// viaProxy puts a toxiproxy proxy between Warren and the broker.
func viaProxy() rigOption { return func(o *rigOptions) { o.proxy = true } }

// withConfig adjusts the tree's config.
func withConfig(f func(*supervisor.Config)) rigOption { return func(o *rigOptions) { o.tune = f } }

// withSpec adjusts the rig listener's spec.
func withSpec(f func(*listener.Spec)) rigOption { return func(o *rigOptions) { o.spec = f } }

func newFaultRig(t *testing.T, scenario string, opts ...rigOption) *faultRig {
	t.Helper()
	var o rigOptions
	for _, f := range opts {
		f(&o)
	}
	r := &faultRig{t: t, b: StartBroker(t), queue: "faults-q"}
	r.l = newLedger(t, scenario)
	uri := r.b.URI()
	if o.proxy {
		r.px = startFaultProxy(t, r.b.Addr())
		uri = r.px.URI()
	}
	r.raw = rawChannel(t, r.b)
	r.base = goroutineBaseline()
	cfg := oneZone(uri)
	cfg.Connection.Heartbeat = time.Second
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: time.Second}
	cfg.RPC.Workers = -1
	if o.tune != nil {
		o.tune(&cfg)
	}
	r.tree, r.logs = treetest.Start(t, cfg)
	waitReady(t, r.tree, 30*time.Second)
	waitPublishersReady(t, r.tree, 10*time.Second)
	spec := listener.Spec{Name: "faults", Queue: listener.QueueSpec{Name: r.queue, Durable: true}, Prefetch: 50,
		Bindings: []listener.Binding{{Exchange: faultExchange, RoutingKey: "#", Declare: true, Kind: "topic", Durable: true}},
		Handlers: []listener.Route{r.l.handler()}}
	if o.spec != nil {
		o.spec(&spec)
	}
	r.listener, _ = spawnListener(t, r.tree, spec)
	if err := r.tree.WaitConsuming(within(t, 20*time.Second), r.listener); err != nil {
		t.Fatalf("rig listener: %v", err)
	}
	return r
}

// brokerID is the id of the broker's connections as Warren names them
// (the proxy's address when there is one).
func (r *faultRig) brokerID(t testing.TB) string {
	t.Helper()
	if r.px != nil {
		return r.px.Addr()
	}
	return brokerID(t, r.b)
}

// connID names the broker's connection of role.
func (r *faultRig) connID(t testing.TB, role registry.ConnRole) string {
	return actors.ConnID(r.brokerID(t), role)
}

// load starts confirmed and fire-and-forget publishers to the rig's
// exchange, each call with deadline d.
func (r *faultRig) load(confirmed, loose int, d time.Duration) (stop func()) {
	stop = r.l.load(r.tree, faultExchange, "probe", confirmed, loose, d)
	r.t.Cleanup(stop) // a failed scenario stops its load before the tree shuts down
	return stop
}

// confirmedMore waits until n more publishes than now are confirmed.
func (r *faultRig) confirmedMore(t testing.TB, n int, d time.Duration, what string) {
	t.Helper()
	from := r.l.confirmedCount()
	testkit.Await(t, d, what, r.l.changes, func() bool { return r.l.confirmedCount() >= from+n })
}

// waitDown waits until the broker's connection of role is unavailable.
func (r *faultRig) waitDown(t testing.TB, role registry.ConnRole, d time.Duration) {
	t.Helper()
	waitConn(t, r.tree, r.connID(t, role), d, string(role)+" connection lost",
		func(c registry.Connection) bool { return !c.Available })
}

// waitUp waits until the broker's connection of role is available again.
func (r *faultRig) waitUp(t testing.TB, role registry.ConnRole, d time.Duration) {
	t.Helper()
	waitConn(t, r.tree, r.connID(t, role), d, string(role)+" connection back",
		func(c registry.Connection) bool { return c.Available })
}

// consumingAgain asserts that the listener consumes again, as the tree
// and the broker (list_consumers) both say.
func (r *faultRig) consumingAgain(t testing.TB, d time.Duration) {
	t.Helper()
	waitListener(t, r.tree, r.listener.Id, d, "consuming again", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming
	})
	testkit.Poll(t, d, "the broker lists the listener's consumer", func() bool {
		return ctlCount(t, r.b, r.queue, "list_consumers", "queue_name") == 1
	})
}

// finish stops the load, waits for every confirmed message to arrive,
// and shuts the tree down cleanly.
func (r *faultRig) finish(t *testing.T, stop func()) {
	t.Helper()
	stop()
	r.l.settle(60 * time.Second)
	shutdownClean(t, r.l, r.tree, r.base, 15*time.Second)
}
