package integration

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// spawnListener starts a listener under the tree and waits until it consumes.
func spawnListener(t testing.TB, tree *supervisor.Tree, spec listener.Spec) (*actor.PID, registry.Listener) {
	t.Helper()
	pid, err := tree.SpawnListener(within(t, 10*time.Second), spec)
	if err != nil {
		t.Fatalf("spawn listener %s: %v", spec.Name, err)
	}
	return pid, waitListener(t, tree, pid.Id, 15*time.Second, "consuming", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming
	})
}

// waitListener waits until the listener's row satisfies cond.
func waitListener(t testing.TB, tree *supervisor.Tree, path string, d time.Duration, what string, cond func(registry.Listener) bool) registry.Listener {
	t.Helper()
	var row registry.Listener
	treetest.Eventually(t, tree, d, "listener "+path+" "+what, func() bool {
		var ok bool
		row, ok = tree.Registry().Listener(path)
		return ok && cond(row)
	})
	return row
}

// rawChannel opens a plain amqp091 channel on b for the test's own
// publishing and checks, closed at cleanup.
func rawChannel(t testing.TB, b *Broker) *amqp.Channel {
	t.Helper()
	return testkit.AMQPChannel(t, b.URI())
}

func publishJSON(t testing.TB, ch *amqp.Channel, exchange, key, body string) {
	t.Helper()
	err := ch.PublishWithContext(context.Background(), exchange, key, false, false,
		amqp.Publishing{ContentType: "application/json", Body: []byte(body), DeliveryMode: amqp.Persistent})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// recv waits for the next value on c (testkit.Recv).
func recv[T any](t testing.TB, c <-chan T, d time.Duration, what string) T {
	t.Helper()
	return testkit.Recv(t, c, d, what)
}

// nothing asserts that c stays empty while the listener has settled
// everything it received (its in-flight count back to 0 after count messages).
func nothing[T any](t testing.TB, c <-chan T, what string) {
	t.Helper()
	testkit.Quiet(t, c, what)
}
