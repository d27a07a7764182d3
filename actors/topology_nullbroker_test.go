package actors_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests cover the run-time topology (actors.ChangeTopology through
// the Tree's DeclareExchange, BindExchange and their removals) on the null
// broker: declared at once, declared again on every connect.

func hasExchange(nb *nullbroker.Server, name, kind string) bool {
	return slices.ContainsFunc(nb.Exchanges(), func(x nullbroker.ExchangeInfo) bool { return x.Name == name && x.Kind == kind })
}

func hasE2E(nb *nullbroker.Server, dest, src, key string) bool {
	return slices.ContainsFunc(nb.Bindings(), func(b nullbroker.BindingInfo) bool {
		return b.Source == src && b.Destination == dest && b.DestinationKind == "exchange" && b.RoutingKey == key
	})
}

// awaitBroker waits up to 10 s for cond on the null broker's state.
func awaitBroker(t *testing.T, nb *nullbroker.Server, what string, cond func() bool) {
	t.Helper()
	testkit.Await(t, 10*time.Second, what, nb.Changed, cond)
}

// runtimeTopology declares rt.src (topic), rt.dst (fanout) and binds
// rt.dst to rt.src with "a.#" through tree.
func runtimeTopology(t *testing.T, tree *supervisor.Tree) {
	t.Helper()
	ctx := within(t, 10*time.Second)
	for _, x := range []actors.Exchange{{Name: "rt.src", Kind: kazoo.KindTopic}, {Name: "rt.dst", Kind: kazoo.KindFanout}} {
		if err := tree.DeclareExchange(ctx, x); err != nil {
			t.Fatalf("declare %s: %v", x.Name, err)
		}
	}
	if err := tree.BindExchange(ctx, "rt.dst", "rt.src", "a.#", nil); err != nil {
		t.Fatalf("bind rt.dst to rt.src: %v", err)
	}
}

func TestTopology_RuntimeExchangeAndBindingDeclaredAgainAfterReconnect(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	runtimeTopology(t, tree)
	if !hasExchange(nb, "rt.src", "topic") || !hasExchange(nb, "rt.dst", "fanout") || !hasE2E(nb, "rt.dst", "rt.src", "a.#") {
		t.Fatalf("declared, but the broker has exchanges %v, bindings %v", nb.Exchanges(), nb.Bindings())
	}
	if got := len(tree.Registry().Topology()); got != 3 {
		t.Fatalf("topology table has %d rows, want 3: %+v", got, tree.Registry().Topology())
	}

	// The broker loses them (an operator, or a restart of a node whose
	// exchanges are not durable), then the connection drops.
	ch := testkit.AMQPChannel(t, nb.URL())
	for _, x := range []string{"rt.src", "rt.dst"} {
		if err := ch.ExchangeDelete(x, false, false); err != nil {
			t.Fatalf("raw delete %s: %v", x, err)
		}
	}
	if hasExchange(nb, "rt.src", "topic") || hasE2E(nb, "rt.dst", "rt.src", "a.#") {
		t.Fatal("the raw client's deletes did not take")
	}
	id := idOf(t, nb)
	before, _ := tree.Registry().Connection(id)
	nb.Kill()
	waitConn(t, tree, id, "connected again", func(c registry.Connection) bool { return c.Available && c.Connects > before.Connects })
	awaitBroker(t, nb, "rt.src, rt.dst and their binding declared again", func() bool {
		return hasExchange(nb, "rt.src", "topic") && hasExchange(nb, "rt.dst", "fanout") && hasE2E(nb, "rt.dst", "rt.src", "a.#")
	})

	// And they route: a message published to rt.src reaches a queue bound
	// to rt.dst.
	ch = testkit.AMQPChannel(t, nb.URL())
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err == nil {
		err = ch.QueueBind(q.Name, "", "rt.dst", false, nil)
	}
	if err == nil {
		err = ch.Publish("rt.src", "a.b", false, false, amqp.Publishing{Body: []byte("through")})
	}
	if err != nil {
		t.Fatalf("raw queue, bind, publish: %v", err)
	}
	awaitBroker(t, nb, "the message in the queue bound to rt.dst", func() bool {
		info, ok := nb.Queue(q.Name)
		return ok && info.Messages == 1
	})
}

func TestTopology_BrokerAddedLaterDeclaresTheRecordedTopology(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	runtimeTopology(t, tree)
	late := startNull(t, nullbroker.Config{})
	if hasExchange(late, "rt.src", "topic") {
		t.Fatal("a fresh null broker already has rt.src")
	}
	if _, err := tree.AddBroker(within(t, 10*time.Second), late.URL(), ""); err != nil {
		t.Fatal(err)
	}
	awaitBroker(t, late, "the added broker has rt.src, rt.dst and their binding", func() bool {
		return hasExchange(late, "rt.src", "topic") && hasExchange(late, "rt.dst", "fanout") && hasE2E(late, "rt.dst", "rt.src", "a.#")
	})
}

func TestTopology_RefusedOrUndeliverableChangesAreNotRecorded(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 20*time.Second)
	if err := tree.DeclareExchange(ctx, actors.Exchange{Name: "rt.x", Kind: kazoo.KindDirect}); err != nil {
		t.Fatal(err)
	}
	recorded := func(id string) *registry.TopologyEntry {
		for _, e := range tree.Registry().Topology() {
			if e.ID == id {
				return &e
			}
		}
		return nil
	}
	var ae *amqp.Error

	t.Run("a redeclaration with other flags is refused and the first one stays", func(t *testing.T) {
		err := tree.DeclareExchange(ctx, actors.Exchange{Name: "rt.x", Kind: kazoo.KindFanout})
		if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
			t.Fatalf("err %v, want the broker's 406", err)
		}
		if e := recorded(registry.ExchangeID("rt.x")); e == nil || e.Exchange.Kind != kazoo.KindDirect {
			t.Fatalf("recorded %+v, want rt.x direct", e)
		}
	})
	t.Run("a binding to a missing exchange is refused and not recorded", func(t *testing.T) {
		b := actors.ExchangeBinding{Destination: "rt.x", Source: "rt.missing", RoutingKey: "k"}
		err := tree.BindExchange(ctx, b.Destination, b.Source, b.RoutingKey, nil)
		if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
			t.Fatalf("err %v, want the broker's 404", err)
		}
		if e := recorded(b.ID()); e != nil {
			t.Fatalf("refused binding recorded: %+v", e)
		}
	})
	t.Run("a refused declare of an exchange leaves the bindings recorded to it", func(t *testing.T) {
		b := actors.ExchangeBinding{Destination: kazoo.ExchangeCallevt, Source: "rt.x", RoutingKey: "k"}
		if err := tree.BindExchange(ctx, b.Destination, b.Source, b.RoutingKey, nil); err != nil {
			t.Fatal(err)
		}
		err := tree.DeclareExchange(ctx, actors.Exchange{Name: kazoo.ExchangeCallevt, Kind: kazoo.KindFanout}) // configured as a topic
		if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
			t.Fatalf("err %v, want the broker's 406", err)
		}
		if recorded(registry.ExchangeID(kazoo.ExchangeCallevt)) != nil || recorded(b.ID()) == nil {
			t.Fatalf("after the refused declare the topology is %+v, want the binding and no callevt", tree.Registry().Topology())
		}
	})
	t.Run("bad input is refused before anything is sent", func(t *testing.T) {
		if err := tree.DeclareExchange(ctx, actors.Exchange{Name: "rt.nokind"}); err == nil || !strings.Contains(err.Error(), "kind") {
			t.Fatalf("err %v, want one naming the missing kind", err)
		}
		if err := tree.BindExchange(ctx, "rt.x", "", "k", nil); err == nil || !strings.Contains(err.Error(), "default exchange") {
			t.Fatalf("err %v, want one about the default exchange", err)
		}
	})
	t.Run("with no broker connected a declare fails and is not recorded", func(t *testing.T) {
		_ = nb.Close()
		waitConn(t, tree, idOf(t, nb), "unavailable", func(c registry.Connection) bool { return !c.Available })
		err := tree.DeclareExchange(ctx, actors.Exchange{Name: "rt.offline", Kind: kazoo.KindDirect})
		if !errors.Is(err, actors.ErrNotConnected) {
			t.Fatalf("err %v, want ErrNotConnected", err)
		}
		if e := recorded(registry.ExchangeID("rt.offline")); e != nil {
			t.Fatalf("recorded while no broker was connected: %+v", e)
		}
	})
}

func TestTopology_RemovedBindingsAndExchangesStayRemovedAfterReconnect(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	runtimeTopology(t, tree)
	ctx := within(t, 10*time.Second)
	if err := tree.UnbindExchange(ctx, "rt.dst", "rt.src", "a.#", nil); err != nil {
		t.Fatal(err)
	}
	if err := tree.DeleteExchange(ctx, "rt.dst"); err != nil {
		t.Fatal(err)
	}
	if hasE2E(nb, "rt.dst", "rt.src", "a.#") || hasExchange(nb, "rt.dst", "fanout") {
		t.Fatalf("still on the broker: exchanges %v, bindings %v", nb.Exchanges(), nb.Bindings())
	}
	if got := tree.Registry().Topology(); len(got) != 1 || got[0].ID != registry.ExchangeID("rt.src") {
		t.Fatalf("topology %+v, want rt.src only", got)
	}
	id := idOf(t, nb)
	before, _ := tree.Registry().Connection(id)
	nb.Kill()
	waitConn(t, tree, id, "connected again", func(c registry.Connection) bool { return c.Available && c.Connects > before.Connects })
	// The reconnect declared rt.src again (its dial ran before the row
	// turned available): what it left out, it left out on purpose.
	if !hasExchange(nb, "rt.src", "topic") {
		t.Fatal("rt.src missing after the reconnect")
	}
	if hasE2E(nb, "rt.dst", "rt.src", "a.#") || hasExchange(nb, "rt.dst", "fanout") {
		t.Fatalf("removed topology came back: exchanges %v, bindings %v", nb.Exchanges(), nb.Bindings())
	}
}

func TestTopology_ConfiguredBindingToAMissingExchangeCostsThatBindingOnly(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	cfg := fast(supervisor.Config{ExchangeBindings: []actors.ExchangeBinding{
		{Destination: kazoo.ExchangeCallevt, Source: "nowhere", RoutingKey: "k"},
		{Destination: kazoo.ExchangeCallevt, Source: kazoo.ExchangeCallctl, RoutingKey: "call.#"},
	}})
	tree := startNullTree(t, cfg, nb)
	row := waitConn(t, tree, idOf(t, nb), "connected", func(c registry.Connection) bool { return c.Available })
	if len(row.ExchangeErrors) != 1 || !strings.Contains(row.ExchangeErrors[0], "binding callevt to nowhere") {
		t.Fatalf("exchange errors %q, want the binding from nowhere only", row.ExchangeErrors)
	}
	if !hasE2E(nb, kazoo.ExchangeCallevt, kazoo.ExchangeCallctl, "call.#") {
		t.Fatalf("the good binding is missing: %v", nb.Bindings())
	}
}

func TestTopology_ConfiguredBindingMayNameAnExchangeDeclaredAtRunTime(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	cfg := fast(supervisor.Config{ExchangeBindings: []actors.ExchangeBinding{
		{Destination: "rt.late", Source: kazoo.ExchangeCallevt, RoutingKey: "k"},
	}})
	tree := startNullTree(t, cfg, nb)
	id := idOf(t, nb)
	first := waitConn(t, tree, id, "connected", func(c registry.Connection) bool { return c.Available })
	if len(first.ExchangeErrors) != 1 {
		t.Fatalf("exchange errors %q before rt.late exists, want the binding's", first.ExchangeErrors)
	}
	if err := tree.DeclareExchange(within(t, 10*time.Second), actors.Exchange{Name: "rt.late", Kind: kazoo.KindDirect}); err != nil {
		t.Fatal(err)
	}
	// The broker loses rt.late: the reconnect must declare it before the
	// configured binding that names it.
	if err := testkit.AMQPChannel(t, nb.URL()).ExchangeDelete("rt.late", false, false); err != nil {
		t.Fatal(err)
	}
	nb.Kill()
	again := waitConn(t, tree, id, "connected again", func(c registry.Connection) bool { return c.Available && c.Connects > first.Connects })
	if len(again.ExchangeErrors) != 0 || !hasE2E(nb, "rt.late", kazoo.ExchangeCallevt, "k") {
		t.Fatalf("after the reconnect: exchange errors %q, bindings %v; want the configured binding declared", again.ExchangeErrors, nb.Bindings())
	}
}
