package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Kazoo's dispatch on a real broker: two routes match one event ({Cat,
// Name} and {"*", Name}), both run, and the message is acked once — the
// queue is empty by rabbitmqctl, and the channel was not closed by a
// second ack (406 unknown delivery tag).
func TestListener_DispatchAllTwoRoutesRunAckedOnce(t *testing.T) {
	b := SharedBroker(t)
	tree, logs := treetest.Start(t, bare(oneZone(b.URI())))
	waitReady(t, tree, 20*time.Second)
	queue := strings.ReplaceAll(t.Name(), "/", "-")
	ran := make(chan string, 4)
	route := func(tag string) listener.Handler {
		return func(context.Context, *listener.Delivery) error { ran <- tag; return nil }
	}
	pid, row := spawnListener(t, tree, listener.Spec{Name: "dispatch-all", Queue: listener.QueueSpec{Name: queue, AutoDelete: true},
		Handlers: []listener.Route{
			{Category: "call_event", Name: "CHANNEL_DESTROY", Handler: route("exact")},
			{Category: "*", Name: "channel_destroy", Handler: route("name")},
			{Category: "directory", Handler: route("other")},
		}})
	publishJSON(t, rawChannel(t, b), "", queue, event("call_event", "CHANNEL_DESTROY", ""))
	got := []string{recv(t, ran, 5*time.Second, "a route"), recv(t, ran, 5*time.Second, "the other route")}
	slices.Sort(got)
	if !slices.Equal(got, []string{"exact", "name"}) {
		t.Fatalf("routes run: %v, want exact and name", got)
	}
	after := waitListener(t, tree, pid.Id, 5*time.Second, "acked", func(l registry.Listener) bool { return l.Acked == 1 && l.InFlight == 0 })
	if after.Received != 1 || after.Nacked+after.Errors+after.Stale != 0 || after.Channel != row.Channel {
		t.Fatalf("row %+v (channel was %s): want one delivery acked once on the same channel", after, row.Channel)
	}
	testkit.Poll(t, 5*time.Second, queue+" empty (rabbitmqctl list_queues)", func() bool {
		ready, unacked := queueDepth(t, b, queue)
		return ready == 0 && unacked == 0
	})
	if l := logs.String(); strings.Contains(l, "unknown delivery tag") {
		t.Fatalf("a second ack reached the broker:\n%s", l)
	}
	select {
	case tag := <-ran:
		t.Fatalf("route %s ran too", tag)
	default:
	}
}
