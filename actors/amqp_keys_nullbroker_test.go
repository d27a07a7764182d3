package actors_test

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// These tests check that the tree applies what config.ini's [amqp] keys
// set (supervisor.Config.Prefetch, publish.Config.ServerConfirms).

func TestConfig_PrefetchIsTheDefaultOfSpawnedListeners(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prefetch: 3}), nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the tree's shutdown, which drains the handlers
	raw := func(ctx context.Context, _ *listener.Delivery) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	spec := listener.Spec{Name: "pf", Queue: listener.QueueSpec{Name: "pf-q", AutoDelete: true}, Raw: raw}
	pid, err := tree.SpawnListener(within(t, 5*time.Second), spec)
	if err == nil {
		err = tree.WaitConsuming(within(t, 5*time.Second), pid)
	}
	if err != nil {
		t.Fatal(err)
	}
	ch := testkit.AMQPChannel(t, nb.URL())
	for range 10 {
		if err := ch.Publish("", "pf-q", false, false, amqp.Publishing{Body: []byte("not json")}); err != nil {
			t.Fatal(err)
		}
	}
	// With the default prefetch (50) all ten would be delivered at once.
	testkit.Await(t, 10*time.Second, "3 unacked, 7 ready", nb.Changed, func() bool {
		q, ok := nb.Queue("pf-q")
		return ok && q.Unacked == 3 && q.Messages == 7
	})
}

func TestConfig_ServerConfirmsConfirmsEveryPublish(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	cfg := fast(supervisor.Config{})
	cfg.Publish.Publishers, cfg.Publish.ServerConfirms = 1, true
	tree := startNullTree(t, cfg, nb)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// No publish.Confirm(): the pool's setting makes it wait for the ack.
	if err := tree.Publish(within(t, 10*time.Second), "", "nobody", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 10*time.Second, "one publish confirmed", func() bool {
		rows := tree.Registry().Publishers()
		return len(rows) == 1 && rows[0].Confirmed == 1
	})
}
