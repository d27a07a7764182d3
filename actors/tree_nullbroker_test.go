package actors_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/rpc"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests run the connection, connections and assignments actors
// against internal/nullbroker: a real AMQP peer on a loopback socket, so
// that the connected paths are covered without a RabbitMQ node.

func startNull(t *testing.T, cfg nullbroker.Config) *nullbroker.Server {
	t.Helper()
	return treetest.NullBroker(t, cfg)
}

// fast reconnects quickly; pools that hold channels of their own are off so
// that channel counts are the assignments' alone.
func fast(cfg supervisor.Config) supervisor.Config {
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers = -1
	cfg.Publish.Publishers = -1
	return cfg
}

// startNullTree starts a tree on brokers (zone "local") and registers the
// cleanups in the order that leaves nothing: the tree first, then brokers.
func startNullTree(t *testing.T, cfg supervisor.Config, brokers ...*nullbroker.Server) *supervisor.Tree {
	t.Helper()
	if len(cfg.Zones) == 0 {
		var uris []string
		for _, nb := range brokers {
			uris = append(uris, nb.URL())
		}
		cfg.Zones = []supervisor.Zone{{Name: "local", Brokers: uris}}
	}
	return startTree(t, cfg)
}

func idOf(t *testing.T, nb *nullbroker.Server) string {
	t.Helper()
	id, err := actors.BrokerID(nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// within is testkit.Within: a context that ends after d or with the test.
var within = testkit.Within

func TestConnection_ConnectsAndReportsTheNegotiatedLimits(t *testing.T) {
	nb := startNull(t, nullbroker.Config{ChannelMax: 64, Heartbeat: 3, Product: "nullbroker", Version: "9.9"})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: 4}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	id := idOf(t, nb)
	row := waitConn(t, tree, id, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
	if row.ChannelMax != 64 || row.Heartbeat != 3*time.Second || row.Product != "nullbroker" || row.Version != "9.9" || !row.Local {
		t.Fatalf("row %+v: want channel_max 64, heartbeat 3s, nullbroker 9.9, local", row)
	}
	treetest.Eventually(t, tree, 5*time.Second, "a pool of 4 prechannels", func() bool { return len(tree.Registry().Prechannels(id)) == 4 })
	if s := nb.Stats(); s.Connections != 1 {
		t.Fatalf("%d connections on the broker, want 1", s.Connections)
	}
}

func TestAssignments_FloatReconnectsAfterKill(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: 2}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	p := treetest.SpawnProbe(t, tree, "float-kill", actors.RequestChannel{App: "test"})
	first := p.Assigned(t, 5*time.Second)
	if first.Reconnect || first.Link == nil || first.Zone != "local" {
		t.Fatalf("first assignment %+v", first)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the assignments row", func() bool {
		row, ok := tree.Registry().AssignmentOf(p.PID.Id)
		return ok && row.State == registry.Assigned && row.Channel == first.ID
	})
	nb.Kill()
	lost := p.Lost(t, 5*time.Second)
	if lost.ID != first.ID {
		t.Fatalf("lost %s, held %s", lost.ID, first.ID)
	}
	again := p.Assigned(t, 10*time.Second)
	if !again.Reconnect || again.ID == first.ID {
		t.Fatalf("reassignment %+v: want a new channel with Reconnect", again)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the pool refilled to 2", func() bool { return len(tree.Registry().Prechannels(idOf(t, nb))) == 2 })
}

func TestAssignments_FloatMovesToTheOtherBrokerOfItsZone(t *testing.T) {
	a, b := startNull(t, nullbroker.Config{}), startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: -1}), a, b)
	for _, nb := range []*nullbroker.Server{a, b} {
		waitConn(t, tree, idOf(t, nb), "connected", func(c registry.Connection) bool { return c.Available })
	}
	primary, other := a, b
	if idOf(t, b) < idOf(t, a) {
		primary, other = b, a
	}
	float := treetest.SpawnProbe(t, tree, "float-move", actors.RequestChannel{App: "test"})
	sticky := treetest.SpawnProbe(t, tree, "sticky-stay", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: idOf(t, primary)})
	if got := float.Assigned(t, 5*time.Second); got.Broker != idOf(t, primary) {
		t.Fatalf("float on %s, want the primary %s", got.Broker, idOf(t, primary))
	}
	sticky.Assigned(t, 5*time.Second)
	_ = primary.Close() // down for good
	float.Lost(t, 5*time.Second)
	if got := float.Assigned(t, 10*time.Second); got.Broker != idOf(t, other) {
		t.Fatalf("float moved to %s, want %s", got.Broker, idOf(t, other))
	}
	sticky.Lost(t, 5*time.Second)
	treetest.Eventually(t, tree, 5*time.Second, "the sticky reconnecting, waiting for its broker", func() bool {
		row, _ := tree.Registry().AssignmentOf(sticky.PID.Id)
		return row.State == registry.Reconnecting && row.Broker == idOf(t, primary)
	})
}

func TestAssignments_ChannelExceptionReplacesThatChannel(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	victim := treetest.SpawnProbe(t, tree, "victim", actors.RequestChannel{App: "test"})
	bystander := treetest.SpawnProbe(t, tree, "bystander", actors.RequestChannel{App: "test"})
	got := victim.Assigned(t, 5*time.Second)
	keep := bystander.Assigned(t, 5*time.Second)
	for i := range 3 { // again and again: the replacement comes after a growing delay
		_, err := got.Channel.QueueDeclarePassive("no-such-queue", false, false, false, false, nil)
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
			t.Fatalf("passive declare of a missing queue: %v", err)
		}
		lost := victim.Lost(t, 5*time.Second)
		if lost.ID != got.ID || lost.Err == nil {
			t.Fatalf("round %d: lost %+v", i, lost)
		}
		next := victim.Assigned(t, 5*time.Second)
		if next.ID == got.ID || !next.Reconnect {
			t.Fatalf("round %d: replacement %+v", i, next)
		}
		got = next
	}
	if keep.Channel.IsClosed() {
		t.Fatal("the bystander's channel closed")
	}
	bystander.Quiet(t)
}

func TestAssignments_ReleaseClosesTheChannel(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: -1}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	p := treetest.SpawnProbe(t, tree, "releaser", actors.RequestChannel{App: "test"})
	got := p.Assigned(t, 5*time.Second)
	// Asking again while assigned repeats the assignment.
	tree.System().Root.Send(tree.PID(actors.AssignmentsName), &actors.RequestChannel{Consumer: p.PID, App: "test"})
	if again := p.Assigned(t, 5*time.Second); again.ID != got.ID {
		t.Fatalf("asked again: %s, want %s", again.ID, got.ID)
	}
	tree.System().Root.Send(tree.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: p.PID})
	treetest.Eventually(t, tree, 5*time.Second, "the row deleted", func() bool {
		_, ok := tree.Registry().AssignmentOf(p.PID.Id)
		return !ok
	})
	closed := got.Channel.NotifyClose(make(chan *amqp.Error, 1))
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the released channel is still open")
	}
}

func TestConnection_BlockedAndUnblocked(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	id := idOf(t, nb)
	waitConn(t, tree, id, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
	nb.Block("low on memory")
	row := waitConn(t, tree, id, "blocked", func(c registry.Connection) bool { return c.State == registry.Blocked })
	if !row.Available || !strings.Contains(row.LastError, "low on memory") {
		t.Fatalf("blocked row %+v: want available, naming the reason", row)
	}
	nb.Unblock()
	row = waitConn(t, tree, id, "connected again", func(c registry.Connection) bool { return c.State == registry.Connected })
	if row.LastError != "" {
		t.Fatalf("unblocked row keeps %q", row.LastError)
	}
}

func TestConnection_ServerCloseReconnects(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	id := idOf(t, nb)
	waitConn(t, tree, id, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
	before := nb.Stats().ConnectionsTotal
	nb.CloseConnections(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
	waitConn(t, tree, id, "disconnected", func(c registry.Connection) bool {
		return c.State != registry.Connected && strings.Contains(c.LastError, "CONNECTION_FORCED")
	})
	waitConn(t, tree, id, "connected again", func(c registry.Connection) bool { return c.State == registry.Connected })
	if after := nb.Stats().ConnectionsTotal; after != before+1 {
		t.Fatalf("%d connections made after the close, want 1", after-before)
	}
}

func TestConnection_WrongPasswordFails(t *testing.T) {
	nb := startNull(t, nullbroker.Config{User: "kazoo", Password: "right"})
	uri := "amqp://kazoo:wrong-s3cret@" + nb.Addr() + "/"
	tree := startNullTree(t, fast(supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{uri}}}}), nb)
	row := waitConn(t, tree, idOf(t, nb), "failed", func(c registry.Connection) bool { return c.State == registry.Failed })
	if strings.Contains(row.LastError, "wrong-s3cret") || !strings.Contains(row.LastError, "403") {
		t.Fatalf("last error %q: want the 403, without the password", row.LastError)
	}
}

func TestConnection_ChannelMaxBelowThePrechannels(t *testing.T) {
	nb := startNull(t, nullbroker.Config{ChannelMax: 4})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: 10}), nb)
	id := idOf(t, nb)
	row := waitConn(t, tree, id, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
	if row.ChannelMax != 4 {
		t.Fatalf("channel_max %d", row.ChannelMax)
	}
	// The control channel takes one: three prechannels at most, and the
	// connection stays up.
	treetest.Eventually(t, tree, 5*time.Second, "three prechannels", func() bool { return len(tree.Registry().Prechannels(id)) == 3 })
	p := treetest.SpawnProbe(t, tree, "one-too-many", actors.RequestChannel{App: "test"})
	p.Assigned(t, 5*time.Second) // from the pool
	row = waitConn(t, tree, id, "the refill refused", func(c registry.Connection) bool {
		return strings.Contains(c.LastError, actors.ErrNoChannelLeft.Error())
	})
	if row.State != registry.Connected {
		t.Fatalf("state %s after channel_max was reached", row.State)
	}
}

// Consumers past a connection's channel_max, with no other connection
// allowed (MaxConnections 1), wait with the reason on their rows (and a
// ChannelWaiting telling them), the tree says it is degraded, and once
// channels are released the waiting consumers get them and the reason
// goes.
func TestAssignments_ChannelMaxReachedSaysWhyAndFreedChannelsGoToWaiters(t *testing.T) {
	nb := startNull(t, nullbroker.Config{ChannelMax: 4})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: 1, MaxConnections: 1}), nb)
	id := idOf(t, nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The control channel takes one of the four: three consumers get one.
	var holders []*treetest.Probe
	for i := range 3 {
		p := treetest.SpawnProbe(t, tree, "cm-holder-"+string(rune('a'+i)), actors.RequestChannel{App: "test"})
		p.Assigned(t, 5*time.Second)
		holders = append(holders, p)
	}
	waiting := make([]chan *actors.ChannelWaiting, 2)
	for i := range waiting {
		waiting[i] = make(chan *actors.ChannelWaiting, 4)
		w := waiting[i]
		props := actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case *actor.Started:
				c.Send(tree.PID(actors.AssignmentsName), &actors.RequestChannel{Consumer: c.Self(), App: "test"})
			case *actors.ChannelWaiting:
				w <- m
			}
		})
		pid, err := tree.System().Root.SpawnNamed(props, "cm-waiter-"+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tree.System().Root.StopFuture(pid).Wait() })
	}
	reason := "no channel left on broker " + id + ": channel_max 4 reached"
	for i, w := range waiting {
		select {
		case m := <-w:
			if m.Reason != reason || m.Broker != id {
				t.Fatalf("waiter %d told %+v, want %q", i, m, reason)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("waiter %d was never told why it waits", i)
		}
	}
	treetest.Eventually(t, tree, 5*time.Second, "the waiting rows say why", func() bool {
		rows := tree.Registry().AssignmentsIn(registry.Waiting)
		return len(rows) == 2 && rows[0].Reason == reason && rows[1].Reason == reason
	})
	if got, want := tree.Degraded(), "2 consumers waiting for a channel on "+id+" (channel_max 4 reached)"; got != want {
		t.Fatalf("Degraded() = %q, want %q", got, want)
	}
	if !tree.Ready() {
		t.Fatal("degraded is not ready")
	}
	// Two holders go: the two waiters get their channels, the reason goes.
	for _, p := range holders[:2] {
		if err := tree.System().Root.StopFuture(p.PID).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	treetest.Eventually(t, tree, 5*time.Second, "the waiters assigned", func() bool {
		return len(tree.Registry().AssignmentsIn(registry.Waiting)) == 0 && len(tree.Registry().AssignmentsIn(registry.Assigned)) == 3
	})
	if d := tree.Degraded(); d != "" {
		t.Fatalf("still degraded: %q", d)
	}
	for _, row := range tree.Registry().Assignments() {
		if row.Reason != "" {
			t.Fatalf("row %s keeps the reason %q", row.ID, row.Reason)
		}
	}
}

func TestConnection_RefusedConfiguredExchangeIsReported(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	declareExchange(t, nb, "clash", "direct")
	cfg := fast(supervisor.Config{Exchanges: []actors.Exchange{{Name: "clash", Kind: "topic"}, {Name: "targeted", Kind: "direct"}}})
	tree := startNullTree(t, cfg, nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	row, _ := tree.Registry().Connection(idOf(t, nb))
	if len(row.ExchangeErrors) != 1 || !strings.Contains(row.ExchangeErrors[0], "clash") {
		t.Fatalf("exchange errors %q", row.ExchangeErrors)
	}
	actorRow, _ := tree.Registry().Actor(row.Actor)
	if !strings.Contains(actorRow.Detail, "clash") {
		t.Fatalf("the tree does not show the refusal: %q", actorRow.Detail)
	}
}

func TestConnections_RemovingABrokerReleasesItsConsumers(t *testing.T) {
	a, b := startNull(t, nullbroker.Config{}), startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: -1}), a)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	id, err := tree.AddBroker(within(t, 5*time.Second), b.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	sticky := treetest.SpawnProbe(t, tree, "on-b", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: id})
	sticky.Assigned(t, 5*time.Second)
	if err := tree.RemoveBroker(within(t, 5*time.Second), id); err != nil {
		t.Fatal(err)
	}
	sticky.Lost(t, 5*time.Second)
	testkit.Await(t, 5*time.Second, "b's connection closed", b.Changed, func() bool { return b.Stats().Connections == 0 })
	if _, ok := tree.Registry().Connection(id); ok {
		t.Fatal("the removed broker's row is still there")
	}
}

func TestConnections_PublishingHasItsOwnConnection(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	cfg := fast(supervisor.Config{})
	cfg.Publish.Publishers = 1 // publishers on: each broker gets a publishing connection
	tree := startNullTree(t, cfg, nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	id := idOf(t, nb)
	pub := waitConn(t, tree, actors.ConnID(id, registry.Publish), "the publishing connection", func(c registry.Connection) bool { return c.Available })
	if pub.Role != registry.Publish || pub.Broker != id || pub.Prechannels != 0 {
		t.Fatalf("publishing row %+v", pub)
	}
	if con, _ := tree.Registry().Connection(id); con.Role != registry.Consume || con.Broker != id {
		t.Fatalf("consuming row %+v", con)
	}
	if p, ok := tree.Registry().Primary("local"); !ok || p.ID != id {
		t.Fatalf("primary %+v: want the consuming connection", p)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the publisher's channels on the publishing connection", func() bool {
		n := 0
		for _, a := range tree.Registry().Assignments() {
			if a.App == "publisher" && a.State == registry.Assigned {
				if a.Broker != pub.ID || a.Role != registry.Publish {
					return false
				}
				n++
			}
		}
		return n == 2 // confirm-mode and plain
	})
	if err := tree.Publish(within(t, 5*time.Second), "targeted", "x", []byte(`{}`), publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	testkit.Await(t, 5*time.Second, "two connections on the broker", nb.Changed, func() bool { return nb.Stats().Connections == 2 })
	// Removing the broker removes both connections.
	if err := tree.RemoveBroker(within(t, 5*time.Second), id); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 5*time.Second, "both rows gone", func() bool { return len(tree.Registry().Connections()) == 0 })
}

// A connection actor that stops while its dial is still in the handshake
// aborts that dial: nothing is left connected, and Shutdown does not wait
// for the connection timeout.
func TestConnection_StopAbortsADialInProgress(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	nb.Freeze() // accepts the TCP connection, never answers the handshake
	t.Cleanup(nb.Thaw)
	cfg := fast(supervisor.Config{})
	cfg.Connection.ConnectionTimeout = 30 * time.Second
	tree := startNullTree(t, cfg, nb)
	id := idOf(t, nb)
	waitConn(t, tree, id, "connecting", func(c registry.Connection) bool { return c.State == registry.Connecting })
	testkit.Await(t, 5*time.Second, "the TCP connection accepted", nb.Changed, func() bool { return nb.Stats().ConnectionsTotal == 1 })
	if err := tree.RemoveBroker(within(t, 5*time.Second), id); err != nil {
		t.Fatal(err)
	}
	// The dial was aborted: its TCP connection is closed while the broker
	// is still frozen, and Shutdown, whose ctx (5 s) is shorter than the
	// dial's ConnectionTimeout (30 s), returns without error.
	testkit.Await(t, 5*time.Second, "the dial's TCP connection closed", nb.Changed, func() bool { return nb.Stats().Connections == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tree.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a dial in its handshake: %v", err)
	}
}

func TestTree_WaitConsuming(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	raw := func(context.Context, *listener.Delivery) error { return nil }
	pid, err := tree.SpawnListener(within(t, 5*time.Second), listener.Spec{Name: "wc", Queue: listener.QueueSpec{Name: "wc-q", AutoDelete: true}, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	if q, ok := nb.Queue("wc-q"); !ok || q.Consumers != 1 {
		t.Fatalf("after WaitConsuming the broker has %+v", q)
	}
	// A queue the broker refuses every time: WaitConsuming ends with the
	// failure, not the deadline.
	rawConn, err := amqp.Dial(nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := rawConn.Channel()
	if _, err := ch.QueueDeclare("clash-q", true, false, false, false, amqp.Table{"x-message-ttl": int32(5)}); err != nil {
		t.Fatal(err)
	}
	_ = rawConn.Close()
	pid, err = tree.SpawnListener(within(t, 5*time.Second), listener.Spec{Name: "clash", Queue: listener.QueueSpec{Name: "clash-q", Durable: true}, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	err = tree.WaitConsuming(within(t, 20*time.Second), pid)
	if err == nil || !strings.Contains(err.Error(), "failed") || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
		t.Fatalf("WaitConsuming on a refused queue = %v", err)
	}
	// An unknown listener: the deadline, named.
	err = tree.WaitConsuming(within(t, 100*time.Millisecond), actor.NewPID("nonhost", "warren/listeners/none"))
	if err == nil || !strings.Contains(err.Error(), "no such listener") {
		t.Fatalf("WaitConsuming on no listener = %v", err)
	}
}

// A call or a publish to an exchange the broker lacks fails at once with
// the broker's reason, for that caller only.
func TestExchangeCheck_MissingExchangeFailsAtOnce(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	cfg := fast(supervisor.Config{})
	cfg.RPC.Workers, cfg.Publish.Publishers = 1, 1
	tree := startNullTree(t, cfg, nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// At once: the broker's refusal, not the call's deadline, ends it.
	_, err := tree.Call(within(t, 5*time.Second), rpc.Request{Exchange: "nowhere", RoutingKey: "k",
		Envelope: kazoo.Envelope{"Event-Category": "c", "Event-Name": "n"}, Defaults: kazoo.Defaults{AppName: "t", AppVersion: "1"}})
	if !errors.Is(err, actors.ErrNoExchange) || !strings.Contains(err.Error(), "NOT_FOUND") || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Fatalf("call to a missing exchange = %v; want ErrNoExchange from the broker, before the deadline", err)
	}
	err = tree.Publish(within(t, 5*time.Second), "nowhere", "k", []byte(`{}`))
	if !errors.Is(err, publish.ErrNoExchange) {
		t.Fatalf("fire-and-forget publish to a missing exchange = %v", err)
	}
	// The exchange declared since: the next publish checks again and passes
	// (a missing exchange is remembered briefly).
	raw, err := amqp.Dial(nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := raw.Channel()
	if err := ch.ExchangeDeclare("nowhere", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	// The publisher forgets a missing exchange after a while, on its clock:
	// nothing signals it, so the publish is retried.
	testkit.Poll(t, 5*time.Second, "a publish to the new exchange", func() bool {
		return tree.Publish(within(t, 5*time.Second), "nowhere", "k", []byte(`{}`), publish.Confirm()) == nil
	})
}

// A refused declare of the targeted exchange leaves bootstrap waiting for
// its broker to go and come back; each such wait, and one started by a
// refusal that comes in while the tree stops, ends with the tree:
// Shutdown returns with no bootstrap goroutine left.
func TestBootstrap_RefusedTargetedWaitsAndEndsWithTheTree(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	declareExchange(t, nb, kazoo.ExchangeTargeted, "topic") // the same name with another kind: the tree's declare gets a 406
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	path := actors.RootName + "/" + actors.BootstrapName
	detail := func() string { row, _ := tree.Registry().Actor(path); return row.Detail }
	treetest.Eventually(t, tree, 10*time.Second, "bootstrap reports the refused declare", func() bool {
		return strings.Contains(detail(), "declare targeted") && strings.Contains(detail(), "406")
	})
	// The broker goes and comes back: bootstrap declares again, is refused again.
	nb.CloseConnections(320, "CONNECTION_FORCED - test")
	treetest.Eventually(t, tree, 10*time.Second, "the connection back", func() bool {
		c, _ := tree.Registry().Connection(idOf(t, nb))
		return c.Available && c.Connects >= 2
	})
	treetest.Eventually(t, tree, 10*time.Second, "bootstrap refused again", func() bool {
		return strings.Contains(detail(), "declare targeted")
	})
	// Stop while a refusal may be on its way back: the wait it starts ends at once.
	nb.CloseConnections(320, "CONNECTION_FORCED - test")
	if err := tree.Shutdown(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "actors.(*bootstrap)") {
		t.Fatalf("a bootstrap goroutine outlived Shutdown:\n%s", stacks)
	}
}

// declareExchange declares exchange (of kind) on nb before a tree does,
// from a plain amqp091 connection.
func declareExchange(t *testing.T, nb *nullbroker.Server, exchange, kind string) {
	t.Helper()
	ch := testkit.AMQPChannel(t, nb.URL())
	if err := ch.ExchangeDeclare(exchange, kind, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
}
