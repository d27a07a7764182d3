package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Listeners past one connection's channel_max consume on more
// connections to the broker, opened for them: on a node whose
// rabbitmq.conf sets channel_max = 20, 60 listeners all consume (the
// broker lists 60 consumers) over at least four connections (rabbitmqctl
// list_connections), each a row whose Broker is the broker id, and the
// node is not degraded.
func TestConnections_ListenersPastChannelMaxConsumeOnMoreConnections(t *testing.T) {
	const channelMax, spawned = 20, 60
	b := StartBroker(t, WithConfig(fmt.Sprintf("channel_max = %d", channelMax)))
	tree, _ := treetest.Start(t, bare(oneZone(b.URI())))
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	start := time.Now()
	for i := range spawned {
		spec := listener.Spec{Name: fmt.Sprintf("mc-%02d", i), Queue: listener.QueueSpec{Name: fmt.Sprintf("mc-%02d", i), AutoDelete: true},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}}
		if _, err := tree.SpawnListener(within(t, 10*time.Second), spec); err != nil {
			t.Fatalf("spawn %s: %v", spec.Name, err)
		}
	}
	treetest.Eventually(t, tree, 60*time.Second, fmt.Sprintf("%d listeners consuming", spawned), func() bool {
		states, _ := listenerStates(tree)
		return states[registry.ListenerConsuming] == spawned
	})
	took := time.Since(start)
	if d := tree.Degraded(); d != "" {
		t.Errorf("degraded with every listener consuming: %q", d)
	}
	conns := 0
	for _, c := range tree.Registry().Connections() {
		if c.Broker == id && c.Role == registry.Consume {
			conns++
			if actors.BrokerOf(c.ID) != id {
				t.Errorf("connection %s of broker %s", c.ID, id)
			}
		}
	}
	if conns < 4 {
		t.Errorf("%d consuming connections for %d listeners at channel_max %d", conns, spawned, channelMax)
	}
	if n := ctlCount(t, b, "mc-", "list_consumers", "queue_name"); n != spawned {
		t.Errorf("the broker lists %d consumers, want %d", n, spawned)
	}
	if n := ctlCount(t, b, "running", "list_connections", "state"); n < conns {
		t.Errorf("the broker lists %d running connections, the tree %d", n, conns)
	}
	t.Logf("channel_max %d: %d listeners consuming over %d connections in %v", channelMax, spawned, conns, took.Round(time.Millisecond))
}
