package integration

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// A JSON body sent as "application/json; charset=utf-8" is decoded and
// dispatched, not rejected as non-JSON.
func TestFault_JSONWithCharsetIsDecoded(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	got := make(chan string, 1)
	spawnListener(t, tree, listener.Spec{Name: "charset", Queue: listener.QueueSpec{Name: "charset-q", AutoDelete: true},
		Handlers: []listener.Route{{Category: "c", Name: "n", Handler: func(_ context.Context, d *listener.Delivery) error {
			got <- d.Envelope.Text("Event-Name")
			return nil
		}}}})
	ch := rawChannel(t, b)
	err := ch.PublishWithContext(within(t, 5*time.Second), "", "charset-q", false, false, amqp.Publishing{
		ContentType: "application/json; charset=utf-8", Body: []byte(`{"Event-Category":"c","Event-Name":"n"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if name := recv(t, got, 10*time.Second, "the charset-labelled JSON event"); name != "n" {
		t.Fatalf("handler saw %q", name)
	}
}

// A binding removed while the listener has no channel is removed from the
// broker by the next replay when the queue outlives its channel.
func TestFault_RemoveBindingWhileDisconnectedIsAppliedOnReconnect(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	bind := listener.Binding{Exchange: "callevt", RoutingKey: "gone.*"}
	keep := listener.Binding{Exchange: "callevt", RoutingKey: "kept.*"}
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "durable", Queue: listener.QueueSpec{Name: "durable-q", Durable: true},
		Bindings: []listener.Binding{bind, keep}, Raw: func(context.Context, *listener.Delivery) error { return nil }})
	bindings := func() string {
		return b.Ctl(t, "list_bindings", "source_name", "destination_name", "routing_key", "--quiet", "--no-table-headers")
	}
	if !strings.Contains(bindings(), "gone.*") {
		t.Fatal("the binding is not on the broker to begin with")
	}
	b.Stop(t)
	waitListener(t, tree, pid.Id, 20*time.Second, "not consuming", func(l registry.Listener) bool { return l.State != registry.ListenerConsuming })
	if err := tree.RemoveBinding(within(t, 10*time.Second), pid, bind); err != nil {
		t.Fatal(err)
	}
	b.Start(t)
	waitListener(t, tree, pid.Id, 30*time.Second, "consuming again", func(l registry.Listener) bool { return l.State == registry.ListenerConsuming })
	out := bindings()
	if strings.Contains(out, "gone.*") || !strings.Contains(out, "kept.*") {
		t.Fatalf("bindings on the broker after the replay:\n%s\nwant kept.* only", out)
	}
}

// The broker cancelling a consumer (its queue deleted) is acted on at once,
// even while the handler is busy with prefetched deliveries.
func TestFault_BrokerCancelRedeclaresAtOnceWithASlowHandler(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	release := make(chan struct{})
	var handled atomic.Int32
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "slow", Queue: listener.QueueSpec{Name: "slow-q"}, Workers: 1, Prefetch: 10,
		Raw: func(ctx context.Context, _ *listener.Delivery) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			handled.Add(1)
			return nil
		}})
	defer close(release)
	ch := rawChannel(t, b)
	for range 10 {
		if err := ch.PublishWithContext(within(t, 5*time.Second), "", "slow-q", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	waitListener(t, tree, pid.Id, 10*time.Second, "busy", func(l registry.Listener) bool { return l.InFlight == 1 })
	if _, err := ch.QueueDelete("slow-q", false, false, false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testkit.Poll(t, 5*time.Second, "slow-q declared again while the handler is still busy", func() bool {
		return ctlCount(t, b, "slow-q", "list_queues", "name") == 1
	})
	if handled.Load() != 0 {
		t.Fatalf("the queue came back only after %d deliveries were handled", handled.Load())
	}
	t.Logf("queue declared again %v after its deletion", time.Since(start).Round(time.Millisecond))
}

// A topology the broker refuses every time (a queue declared elsewhere with
// other arguments) ends in the failed state with the broker's reason.
func TestFault_PermanentReplayErrorSaysFailed(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("clash-q", true, false, false, false, amqp.Table{"x-message-ttl": int32(1000)}); err != nil {
		t.Fatal(err)
	}
	pid, err := tree.SpawnListener(within(t, 10*time.Second), listener.Spec{Name: "clash", Queue: listener.QueueSpec{Name: "clash-q", Durable: true},
		Raw: func(context.Context, *listener.Delivery) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	row := waitListener(t, tree, pid.Id, 20*time.Second, "failed", func(l registry.Listener) bool { return l.State == registry.ListenerFailed })
	if !strings.Contains(row.LastError, "PRECONDITION_FAILED") || !strings.Contains(row.LastError, "give the QueueSpec the same") {
		t.Fatalf("last error %q: want the broker's refusal and the hint", row.LastError)
	}
}

// An AckAuto listener whose handlers are busy leaves the rest of the queue
// on the broker: the prefetch bounds what the client buffers (consuming
// with the broker's no_ack, amqp091 buffered the whole queue in memory).
func TestFault_AutoAckListenerBuffersNoMoreThanItsPrefetch(t *testing.T) {
	const n, prefetch = 1000, 10
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	release := make(chan struct{})
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "auto", Queue: listener.QueueSpec{Name: "auto-q"}, Ack: listener.AckAuto,
		Prefetch: prefetch, Workers: 1, Raw: func(ctx context.Context, _ *listener.Delivery) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}})
	defer close(release)
	ch := rawChannel(t, b)
	for range n {
		if err := ch.PublishWithContext(within(t, 5*time.Second), "", "auto-q", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	waitListener(t, tree, pid.Id, 10*time.Second, "one delivery in its handler", func(l registry.Listener) bool { return l.InFlight == 1 })
	// Steady state: one delivery in the handler, one acked and held by the
	// forwarder, the prefetch unacked in the client's buffer, the rest ready
	// on the broker. With the broker's no_ack nothing would be unacked and
	// nothing ready.
	testkit.Poll(t, 10*time.Second, "the rest of the queue still on the broker", func() bool {
		out := b.Ctl(t, "list_queues", "name", "messages_ready", "messages_unacknowledged", "--quiet", "--no-table-headers")
		for _, line := range strings.Split(out, "\n") {
			var name string
			var ready, unacked int
			if _, err := fmt.Sscan(line, &name, &ready, &unacked); err == nil && name == "auto-q" {
				return unacked == prefetch && ready == n-prefetch-2
			}
		}
		return false
	})
}
