package listener_test

import (
	"context"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// Before declaring an auto-delete queue a replay checks that its bindings'
// exchanges exist, but not those its channel's connection declared itself
// (one round trip of five for each listener coming back after a restart).
// Shown here by deleting such an exchange behind Warren's back: the check
// is skipped, so the queue is declared before the bind is refused. An
// exchange deleted through the tree leaves the connection's set: the
// check comes back and nothing is declared.
func TestListener_AutoDeleteReplayTrustsTheExchangesItsConnectionDeclared(t *testing.T) {
	r := start(t, noPublishers)
	ctx := within(t, 10*time.Second)
	raw := rawChannel(t, r.nb)
	refusedOn := func(exchange string) func(registry.Listener) bool {
		return func(l registry.Listener) bool { return containsAll(l.LastError, "NOT_FOUND", exchange) }
	}
	spawnOn := func(name, exchange string) string {
		t.Helper()
		pid, err := r.tree.SpawnListener(ctx, listener.Spec{Name: name,
			Queue:    listener.QueueSpec{Name: name + "-q", AutoDelete: true},
			Bindings: []listener.Binding{{Exchange: exchange, RoutingKey: "k"}}, Raw: keys(make(chan string, 1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.tree.StopListener(context.Background(), name) })
		return pid.Id
	}

	t.Run("declared by the connection: not checked again", func(t *testing.T) {
		if err := r.tree.DeclareExchange(ctx, actors.Exchange{Name: "kx-known", Kind: "topic"}); err != nil {
			t.Fatal(err)
		}
		if err := raw.ExchangeDelete("kx-known", false, false); err != nil {
			t.Fatal(err)
		}
		path := spawnOn("trusting", "kx-known")
		waitRow(t, r.tree, path, "refused at the bind", refusedOn("kx-known"))
		if _, ok := r.nb.Queue("trusting-q"); !ok {
			t.Fatal("the auto-delete queue was not declared: the replay checked an exchange its connection had declared")
		}
	})

	t.Run("deleted through the tree: checked again", func(t *testing.T) {
		if err := r.tree.DeclareExchange(ctx, actors.Exchange{Name: "kx-gone", Kind: "topic"}); err != nil {
			t.Fatal(err)
		}
		if err := r.tree.DeleteExchange(ctx, "kx-gone"); err != nil {
			t.Fatal(err)
		}
		path := spawnOn("checking", "kx-gone")
		waitRow(t, r.tree, path, "refused at the check", refusedOn("kx-gone"))
		if q, ok := r.nb.Queue("checking-q"); ok {
			t.Fatalf("auto-delete queue declared although the tree deleted its exchange: %+v", q)
		}
	})
}
