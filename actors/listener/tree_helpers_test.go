package listener_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests run listeners in a real tree against internal/nullbroker: a
// real AMQP 0-9-1 peer on a loopback socket. They live in an external
// package so that they can import supervisor; the TestMain of package
// listener (main_test.go, leakcheck) runs them too.

// logBuf collects a tree's logs (testkit.LogBuffer); they are printed when
// a test fails.
type logBuf = testkit.LogBuffer

// rig is a null broker and a tree on it.
type rig struct {
	nb   *nullbroker.Server
	tree *supervisor.Tree
	logs *logBuf
}

// broker is the id of the rig's broker ("127.0.0.1:PORT").
func (r *rig) broker(t *testing.T) string {
	t.Helper()
	id, err := actors.BrokerID(r.nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// start runs a null broker and a tree on it (zone "local", fast reconnects,
// no RPC workers; the publishers pool unless cfg says otherwise; opts
// passed to treetest.Start), and waits until the tree is ready. The
// cleanups shut the tree down first, then close the broker.
func start(t testing.TB, mod func(*supervisor.Config), opts ...treetest.Option) *rig {
	t.Helper()
	nb := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}, Prechannels: 2}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers = -1
	if mod != nil {
		mod(&cfg)
	}
	tree, logs := treetest.Start(t, cfg, opts...)
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return &rig{nb: nb, tree: tree, logs: logs}
}

// noPublishers runs the tree without its publishers pool: listeners reply
// on their own channel.
func noPublishers(cfg *supervisor.Config) { cfg.Publish.Publishers = -1 }

// within is testkit.Within: a context that ends after d or with the test.
var within = testkit.Within

// eventually is treetest.Eventually: it waits on the registry's watches
// until cond, which may read any table, holds.
var eventually = treetest.Eventually

// waitRow waits until the listener's row at path satisfies cond.
func waitRow(t testing.TB, tree *supervisor.Tree, path, what string, cond func(registry.Listener) bool) registry.Listener {
	t.Helper()
	return treetest.WaitListener(t, tree, path, 15*time.Second, what, cond)
}

func consuming(l registry.Listener) bool { return l.State == registry.ListenerConsuming }

// spawn starts a listener under the tree and waits until it consumes.
func spawn(t testing.TB, tree *supervisor.Tree, spec listener.Spec) (*actor.PID, registry.Listener) {
	t.Helper()
	pid, err := tree.SpawnListener(within(t, 10*time.Second), spec)
	if err != nil {
		t.Fatalf("spawn listener %s: %v", spec.Name, err)
	}
	return pid, waitRow(t, tree, pid.Id, "consuming", consuming)
}

// pollUntil is testkit.Poll, for what nothing signals (the goroutines
// left running). State of the null broker is waited on with
// testkit.Await(t, d, what, r.nb.Changed, cond), and the tree's logs with
// r.logs.Changed.
var pollUntil = testkit.Poll

// rawChannel opens a plain amqp091 connection and channel on the null
// broker, for the test's own publishing and checks; closed at cleanup.
func rawChannel(t testing.TB, nb *nullbroker.Server) *amqp.Channel {
	t.Helper()
	return testkit.AMQPChannel(t, nb.URL())
}

func publish(t testing.TB, ch *amqp.Channel, exchange, key string, msg amqp.Publishing) {
	t.Helper()
	if err := ch.PublishWithContext(within(t, 5*time.Second), exchange, key, false, false, msg); err != nil {
		t.Fatalf("publish to %q/%q: %v", exchange, key, err)
	}
}

func publishJSON(t testing.TB, ch *amqp.Channel, exchange, key, body string) {
	t.Helper()
	publish(t, ch, exchange, key, amqp.Publishing{ContentType: "application/json", Body: []byte(body)})
}

// event is a Kazoo JSON event.
func event(cat, name, msgID string, extra ...string) string {
	s := fmt.Sprintf(`{"Event-Category":%q,"Event-Name":%q,"Msg-ID":%q`, cat, name, msgID)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// recv waits for the next value on c (testkit.Recv).
func recv[T any](t testing.TB, c <-chan T, d time.Duration, what string) T {
	t.Helper()
	return testkit.Recv(t, c, d, what)
}

// queueIs waits until the null broker's queue has ready messages and
// unacked deliveries as given, re-reading it at each change of the broker.
func queueIs(t testing.TB, nb *nullbroker.Server, name string, ready, unacked int) {
	t.Helper()
	var last nullbroker.QueueInfo
	var ok bool
	err := testkit.AwaitCtx(within(t, 5*time.Second), nb.Changed, func() bool {
		last, ok = nb.Queue(name)
		return ok && last.Messages == ready && last.Unacked == unacked
	})
	if err != nil {
		t.Fatalf("queue %s: %+v (exists %v), want %d ready, %d unacked", name, last, ok, ready, unacked)
	}
}

// bindingsTo lists "source/routing-key" of the broker's bindings to queue,
// without the default exchange's.
func bindingsTo(nb *nullbroker.Server, queue string) []string {
	var out []string
	for _, b := range nb.Bindings() {
		if b.Destination == queue && b.DestinationKind == "queue" && b.Source != "" {
			out = append(out, b.Source+"/"+b.RoutingKey)
		}
	}
	slices.Sort(out)
	return out
}

func hasBinding(nb *nullbroker.Server, queue, binding string) bool {
	return slices.Contains(bindingsTo(nb, queue), binding)
}

// gate blocks handlers until it is opened (or their listener stops).
type gate chan struct{}

func (g gate) wait(ctx context.Context) error {
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
