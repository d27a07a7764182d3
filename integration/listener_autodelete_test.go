package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Issue 24, point 7, on RabbitMQ: an AutoDelete queue goes only after its
// last consumer, so one declared and never consumed (its bind met a
// missing exchange, 404) stayed on the broker. The listener checks its
// exchanges before it declares such a queue: rabbitmqctl never lists it,
// neither while the listener retries nor once the tree stopped.
func TestListener_AutoDeleteQueueOfARefusedBindIsNotLeftOnTheBroker(t *testing.T) {
	b := SharedBroker(t)
	tree, _ := treetest.Start(t, bare(oneZone(b.URI())))
	waitReady(t, tree, 20*time.Second)
	queue := strings.ReplaceAll(t.Name(), "/", "-")
	pid, err := tree.SpawnListener(within(t, 10*time.Second), listener.Spec{Name: "autodelete",
		Queue:    listener.QueueSpec{Name: queue, AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: queue + "-missing", RoutingKey: "k"}},
		Handlers: []listener.Route{{Category: "*", Name: "*", Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	waitListener(t, tree, pid.Id, 5*time.Second, "refused with 404", func(l registry.Listener) bool {
		return strings.Contains(l.LastError, "NOT_FOUND") && strings.Contains(l.LastError, queue+"-missing")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tree.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	queues := strings.Fields(b.Ctl(t, "list_queues", "name", "--quiet", "--no-table-headers"))
	if slices.Contains(queues, queue) {
		t.Fatalf("rabbitmqctl list_queues still lists the never-consumed auto-delete queue %s: %v", queue, queues)
	}
}
