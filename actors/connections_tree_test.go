package actors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// connsOf returns the rows of broker's connections, by id.
func connsOf(tree *supervisor.Tree, broker string) []registry.Connection {
	var out []registry.Connection
	for _, c := range tree.Registry().Connections() {
		if c.Broker == broker {
			out = append(out, c)
		}
	}
	return out
}

// Listeners past one connection's channel_max consume on another
// connection of the broker, opened for them: with channel_max 4 (three
// channels a connection once its control channel is counted), ten
// listeners need four connections, and every queue has its consumer.
func TestConnections_ListenersPastChannelMaxConsumeOnAnotherConnection(t *testing.T) {
	nb := startNull(t, nullbroker.Config{ChannelMax: 4})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: -1}), nb)
	id := idOf(t, nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	raw := func(context.Context, *listener.Delivery) error { return nil }
	const n = 10
	for i := range n {
		name := fmt.Sprintf("cm-%d", i)
		pid, err := tree.SpawnListener(within(t, 5*time.Second), listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name + "-q", AutoDelete: true}, Raw: raw})
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.WaitConsuming(within(t, 10*time.Second), pid); err != nil {
			t.Fatalf("listener %d: %v (tree degraded: %q)", i, err, tree.Degraded())
		}
	}
	for i := range n {
		if q, ok := nb.Queue(fmt.Sprintf("cm-%d-q", i)); !ok || q.Consumers != 1 {
			t.Fatalf("queue cm-%d-q: %+v", i, q)
		}
	}
	// A listener consumes once its channel is assigned; the assignments
	// actor writes its rows after it sends the assignments, and the
	// connections actor a connection's row after the connection reports
	// it: wait for both.
	on := map[string]int{}
	treetest.Eventually(t, tree, 10*time.Second, "ten assigned rows, and a row for each of their connections", func() bool {
		clear(on)
		for _, a := range tree.Registry().Assignments() {
			if a.Consumer != "" && a.State == registry.Assigned {
				on[a.Broker]++
			}
		}
		total := 0
		for _, k := range on {
			total += k
		}
		return total == n && len(connsOf(tree, id)) >= len(on)
	})
	conns := connsOf(tree, id)
	if len(conns) < 4 || len(on) < 4 {
		t.Fatalf("%d connections, listeners on %v: want the ten spread over at least four", len(conns), on)
	}
	for conn, k := range on {
		if actors.BrokerOf(conn) != id || k > 3 {
			t.Fatalf("listeners on %v: %s is not a connection of %s with room for %d", on, conn, id, k)
		}
	}
	if d := tree.Degraded(); d != "" {
		t.Fatalf("degraded with every listener consuming: %q", d)
	}
}

// Floats spread over a broker's connections (fewest channels first): with
// two connections from the start, four floats take two on each.
func TestAssignments_FloatsSpreadOverTheBrokersConnections(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: -1, Connections: 2}), nb)
	id := idOf(t, nb)
	treetest.Eventually(t, tree, 10*time.Second, "both connections up", func() bool {
		up := 0
		for _, c := range connsOf(tree, id) {
			if c.Available {
				up++
			}
		}
		return up == 2
	})
	on := map[string]int{}
	for i := range 4 {
		p := treetest.SpawnProbe(t, tree, fmt.Sprintf("spread-%d", i), actors.RequestChannel{App: "test"})
		a := p.Assigned(t, 5*time.Second)
		on[a.Broker]++
	}
	if on[id] != 2 || on[actors.NthConnID(id, 2)] != 2 {
		t.Fatalf("floats on %v: want two on %s and two on %s", on, id, actors.NthConnID(id, 2))
	}
}

// Connections (config) opens that many from the start, each its own row
// with the broker id in Broker; AddConnection adds one, up to
// MaxConnections; RemoveBroker stops them all.
func TestConnections_AddConnectionAndRemoveBroker(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Connections: 2, MaxConnections: 3}), nb)
	id := idOf(t, nb)
	treetest.Eventually(t, tree, 10*time.Second, "two connections", func() bool { return len(connsOf(tree, id)) == 2 })
	got, err := tree.AddConnection(within(t, 5*time.Second), id)
	if err != nil || got != id+"~3" {
		t.Fatalf("AddConnection = %q, %v; want %s~3", got, err, id)
	}
	treetest.WaitConnection(t, tree, got, 10*time.Second, "the third connected", func(c registry.Connection) bool {
		return c.State == registry.Connected && c.Broker == id && c.Role == registry.Consume
	})
	if _, err := tree.AddConnection(within(t, 5*time.Second), id); !errors.Is(err, actors.ErrMaxConnections) {
		t.Fatalf("a fourth AddConnection = %v, want ErrMaxConnections", err)
	}
	if _, err := tree.AddConnection(within(t, 5*time.Second), "nowhere:1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("AddConnection to an unknown broker = %v", err)
	}
	if err := tree.RemoveBroker(within(t, 5*time.Second), id); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 10*time.Second, "no connection left", func() bool { return len(connsOf(tree, id)) == 0 })
	testkit.Await(t, 10*time.Second, "the broker saw them all closed", nb.Changed, func() bool { return nb.Stats().Connections == 0 })
}

// A hidden broker serves the consumers that ask for it (by tag, or by
// broker) and no float; it keeps no prechannels; its row shows its tags.
func TestAssignments_HiddenBrokerServesTaggedConsumersOnly(t *testing.T) {
	open, hidden := startNull(t, nullbroker.Config{}), startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: 2}), open)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	hid, err := tree.AddBrokerWith(within(t, 5*time.Second), hidden.URL(), supervisor.BrokerOptions{Tags: []string{"rec"}, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	row := treetest.WaitConnection(t, tree, hid, 10*time.Second, "hidden connected", func(c registry.Connection) bool { return c.Available })
	if !row.Hidden || !slices.Equal(row.Tags, []string{"rec"}) || row.Prechannels != 0 {
		t.Fatalf("hidden row: hidden %v tags %v prechannels %d", row.Hidden, row.Tags, row.Prechannels)
	}
	// hid sorts before or after the open broker: either way floats stay off it.
	for i := range 3 {
		a := treetest.SpawnProbe(t, tree, fmt.Sprintf("hid-float-%d", i), actors.RequestChannel{App: "test"}).Assigned(t, 5*time.Second)
		if a.Broker != idOf(t, open) {
			t.Fatalf("float %d on %s, want the open broker %s", i, a.Broker, idOf(t, open))
		}
	}
	byTag := treetest.SpawnProbe(t, tree, "hid-tag", actors.RequestChannel{App: "test", Type: registry.Sticky, Tag: "rec"}).Assigned(t, 5*time.Second)
	byName := treetest.SpawnProbe(t, tree, "hid-name", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: hid}).Assigned(t, 5*time.Second)
	if byTag.Broker != hid || byName.Broker != hid {
		t.Fatalf("by tag on %s, by name on %s; want both on %s", byTag.Broker, byName.Broker, hid)
	}
	if n := len(tree.Registry().Prechannels(hid)); n != 0 {
		t.Fatalf("hidden broker keeps %d prechannels", n)
	}
}
