package integration

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// An exchange and an exchange-to-exchange binding declared at run time
// (Tree.DeclareExchange, Tree.BindExchange) are declared again when the
// node restarts: Kazoo's exchanges are not durable, so a restarted node
// has lost them, as it lost an exchange nobody recorded. A message
// published to the source then reaches a queue bound to the destination.
// It needs a node of its own: it restarts it.
func TestFault_TopologyRuntimeExchangeAndBindingBackAfterBrokerRestart(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	ctx := testkit.Within(t, 10*time.Second)
	for _, x := range []actors.Exchange{{Name: "topo-src", Kind: "topic"}, {Name: "topo-dst", Kind: "fanout"}} {
		if err := tree.DeclareExchange(ctx, x); err != nil {
			t.Fatalf("declare %s: %v", x.Name, err)
		}
	}
	if err := tree.BindExchange(ctx, "topo-dst", "topo-src", "a.#", nil); err != nil {
		t.Fatal(err)
	}
	// The control: an exchange the tree did not record.
	if err := rawChannel(t, b).ExchangeDeclare("topo-unrecorded", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	id := brokerID(t, b)
	before, _ := tree.Registry().Connection(id)
	b.Kill(t) // faster than a graceful stop; non-durable exchanges go either way
	b.Start(t)
	// The dial declares the topology before the row turns available.
	waitConn(t, tree, id, 20*time.Second, "connected again", func(c registry.Connection) bool {
		return c.Available && c.Connects > before.Connects
	})
	if n := ctlCount(t, b, "topo-unrecorded", "list_exchanges", "name"); n != 0 {
		t.Fatalf("the restart kept the unrecorded exchange: the test proves nothing")
	}
	for _, x := range []string{"topo-src\ttopic", "topo-dst\tfanout"} {
		if n := ctlCount(t, b, x, "list_exchanges", "name", "type"); n != 1 {
			t.Fatalf("%q listed %d times after the restart:\n%s", x, n, b.Ctl(t, "list_exchanges", "name", "type"))
		}
	}
	if n := ctlCount(t, b, "topo-src\ttopo-dst\texchange\ta.#", "list_bindings", "source_name", "destination_name", "destination_kind", "routing_key"); n != 1 {
		t.Fatalf("binding listed %d times after the restart:\n%s", n, b.Ctl(t, "list_bindings", "source_name", "destination_name", "destination_kind", "routing_key"))
	}
	ch := rawChannel(t, b)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err == nil {
		err = ch.QueueBind(q.Name, "", "topo-dst", false, nil)
	}
	var got <-chan amqp.Delivery
	if err == nil {
		got, err = ch.Consume(q.Name, "", true, true, false, false, nil)
	}
	if err == nil {
		err = ch.Publish("topo-src", "a.b", false, false, amqp.Publishing{Body: []byte("through")})
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := testkit.Recv(t, got, 5*time.Second, "the message through topo-src to topo-dst"); string(d.Body) != "through" {
		t.Fatalf("received %q", d.Body)
	}
}
