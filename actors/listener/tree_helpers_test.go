package listener_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// These tests run listeners in a real tree against internal/nullbroker: a
// real AMQP 0-9-1 peer on a loopback socket. They live in an external
// package so that they can import supervisor; the TestMain of package
// listener (main_test.go, leakcheck) runs them too.

// logBuf collects a tree's logs; they are printed when a test fails.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

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
// no RPC workers; the publishers pool unless cfg says otherwise), and
// waits until the tree is ready. The cleanups shut the tree down first,
// then close the broker.
func start(t *testing.T, mod func(*supervisor.Config)) *rig {
	t.Helper()
	nb, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nb.Close() })
	logs := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tree logs:\n%s", logs.String())
		}
	})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}, Prechannels: 2}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers = -1
	if mod != nil {
		mod(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tree, err := supervisor.Start(cfg, supervisor.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tree.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return &rig{nb: nb, tree: tree, logs: logs}
}

// noPublishers runs the tree without its publishers pool: listeners reply
// on their own channel.
func noPublishers(cfg *supervisor.Config) { cfg.Publish.Publishers = -1 }

func within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually waits, on the registry's watch sets, until cond holds; cond
// may read the listeners, assignments, actors and connections tables.
func eventually(t testing.TB, tree *supervisor.Tree, d time.Duration, what string, cond func() bool) {
	t.Helper()
	err := tree.Registry().Wait(within(t, d), func(s *registry.Snapshot) (bool, error) {
		s.WatchAll()
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("%s: not true within %v: %v", what, d, err)
	}
}

// waitRow waits until the listener's row at path satisfies cond.
func waitRow(t testing.TB, tree *supervisor.Tree, path, what string, cond func(registry.Listener) bool) registry.Listener {
	t.Helper()
	var row registry.Listener
	var found bool
	err := tree.Registry().Wait(within(t, 15*time.Second), func(s *registry.Snapshot) (bool, error) {
		var got registry.Listener
		if got, found = s.Listener(path); !found {
			return false, nil
		}
		row = got
		return cond(row), nil
	})
	if err != nil {
		t.Fatalf("listener %s: %s: %v (last row %+v, found %v)", path, what, err, row, found)
	}
	return row
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

// pollUntil re-checks cond, which reads the null broker's state (Warren
// cannot watch it), every few milliseconds until it holds.
func pollUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, d)
		}
		<-tick.C
	}
}

// rawChannel opens a plain amqp091 connection and channel on the null
// broker, for the test's own publishing and checks; closed at cleanup.
func rawChannel(t testing.TB, nb *nullbroker.Server) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(nb.URL())
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
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

// recv waits for the next value on c.
func recv[T any](t testing.TB, c <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
	}
	var zero T
	return zero
}

// queueIs waits until the null broker's queue has ready messages and
// unacked deliveries as given.
func queueIs(t testing.TB, nb *nullbroker.Server, name string, ready, unacked int) {
	t.Helper()
	var last nullbroker.QueueInfo
	var ok bool
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		last, ok = nb.Queue(name)
		if ok && last.Messages == ready && last.Unacked == unacked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: %+v (exists %v), want %d ready, %d unacked", name, last, ok, ready, unacked)
		}
		<-tick.C
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
