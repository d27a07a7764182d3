package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// seen collects Msg-IDs from handlers; a test waits for them on its
// signal (wait), not on the registry: a delivery the test's handler saw
// need not change any table.
type seen struct {
	mu  sync.Mutex
	ids map[string]int
	c   chan string
	sig testkit.Signal // notified after every delivery
}

func newSeen() *seen { return &seen{ids: map[string]int{}, c: make(chan string, 4096)} }

func (s *seen) handler(_ context.Context, d *listener.Delivery) error {
	s.mu.Lock()
	s.ids[d.Envelope.MsgID()]++
	s.mu.Unlock()
	s.sig.Notify()
	s.c <- d.Envelope.MsgID()
	return nil
}

// wait waits until every id was seen, failing the test with those still
// missing after d.
func (s *seen) wait(t testing.TB, d time.Duration, what string, ids ...string) {
	t.Helper()
	if err := testkit.AwaitCtx(testkit.Within(t, d), s.sig.Changed, func() bool { return s.has(ids...) }); err != nil {
		t.Fatalf("%s: not within %v; missing %v", what, d, s.missing(ids...))
	}
}

func (s *seen) missing(ids ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range ids {
		if s.ids[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

func (s *seen) has(ids ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.ids[id] == 0 {
			return false
		}
	}
	return true
}

func msgs(prefix string, n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("%s-%d", prefix, i))
	}
	return ids
}

func publishIDs(t testing.TB, b *Broker, exchange, key string, ids []string) {
	t.Helper()
	ch := rawChannel(t, b)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), exchange, key, false, false, amqpJSON(fmt.Sprintf(`{"Event-Category":"t","Event-Name":"e","Msg-ID":%q}`, id)))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := dc.WaitContext(within(t, 10*time.Second)); !ok || err != nil {
			t.Fatalf("publish %s not confirmed: %v", id, err)
		}
	}
}

// After a broker restart the listener replays its topology and consumes
// again: with a durable queue and manual acks, nothing published before the
// failure is lost (unacked deliveries come back), and what is published
// after recovery arrives.
func TestListener_ReplaysAfterBrokerRestart(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	s := newSeen()
	gate := make(chan struct{})
	var once sync.Once
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "durable", Prefetch: 5, Workers: 8,
		Queue:    listener.QueueSpec{Name: "durable-q", Durable: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "durable.#"}},
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			select { // hold the first deliveries unacked until the broker died
			case <-gate:
			case <-ctx.Done():
			}
			return s.handler(ctx, d)
		}}}})
	before := msgs("before", 20)
	publishIDs(t, b, "callmgr", "durable.x", before)
	waitListener(t, tree, pid.Id, 5*time.Second, "holding deliveries", func(l registry.Listener) bool { return l.InFlight == 5 })
	// kill -9 loses a queue declared less than ~2 s before (Mnesia buffers
	// its log): the durable queue, and its messages with it, must survive.
	b.SyncMetadata(t)
	b.Kill(t)
	waitListener(t, tree, pid.Id, 10*time.Second, "reconnecting", func(l registry.Listener) bool { return l.State == registry.ListenerReconnecting })
	once.Do(func() { close(gate) }) // the held handlers finish; their acks are stale
	b.Start(t)
	row := waitListener(t, tree, pid.Id, 20*time.Second, "consuming again", func(l registry.Listener) bool { return l.State == registry.ListenerConsuming })
	if row.Queue != "durable-q" || len(row.Bindings) != 1 {
		t.Fatalf("row after replay = %+v", row)
	}
	after := msgs("after", 5)
	publishIDs(t, b, "callmgr", "durable.y", after)
	s.wait(t, 20*time.Second, "every message received", append(before, after...)...)
	waitListener(t, tree, pid.Id, 5*time.Second, "stale acks counted", func(l registry.Listener) bool { return l.Stale >= 1 })
}

// A float listener on the zone's primary moves to the other broker of the
// zone when the primary dies, declares its topology there, and receives.
func TestFault_ListenerFailsOverToOtherBrokerOfZone(t *testing.T) {
	a1, a2 := StartBroker(t), StartBroker(t)
	id1, id2 := brokerID(t, a1), brokerID(t, a2)
	primary, other := a1, a2
	if id2 < id1 {
		primary, other = a2, a1
	}
	cfg := oneZone(a1.URI(), a2.URI())
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	for _, b := range []*Broker{a1, a2} {
		id := brokerID(t, b)
		waitConn(t, tree, id, 20*time.Second, "connected", func(c registry.Connection) bool { return c.Available })
		treetest.Eventually(t, tree, 10*time.Second, "prechannels", func() bool { return len(tree.Registry().Prechannels(id)) > 0 })
	}
	s := newSeen()
	pid, row := spawnListener(t, tree, listener.Spec{Name: "mover", Queue: listener.QueueSpec{Name: "mover-q"},
		Bindings: []listener.Binding{{Exchange: "mover-x", Kind: "topic", Declare: true, RoutingKey: "m.*"}},
		Handlers: []listener.Route{{Handler: s.handler}}})
	if row.Broker != brokerID(t, primary) {
		t.Fatalf("listener on %s, want the primary %s", row.Broker, brokerID(t, primary))
	}
	primary.Kill(t)
	row = waitListener(t, tree, pid.Id, 15*time.Second, "consuming on the other broker", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Broker == brokerID(t, other)
	})
	ids := msgs("failover", 10)
	publishIDs(t, other, "mover-x", "m.1", ids)
	s.wait(t, 10*time.Second, "messages received on the other broker", ids...)
	if n := ctlCount(t, other, "mover-q", "list_consumers", "queue_name"); n != 1 {
		t.Fatalf("other broker lists %d consumers on mover-q", n)
	}
}

// A queue deleted on the broker cancels the consumer; the listener declares
// it again and consumes.
func TestListener_RecoversFromBrokerSideCancel(t *testing.T) {
	b := StartBroker(t)
	tree, logs := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	s := newSeen()
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "cancelled", Queue: listener.QueueSpec{Name: "cancel-q"},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "cancel.*"}},
		Handlers: []listener.Route{{Handler: s.handler}}})
	since := time.Now()
	b.Ctl(t, "delete_queue", "cancel-q")
	waitListener(t, tree, pid.Id, 10*time.Second, "consuming again", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Since.After(since)
	})
	ids := msgs("cancel", 3)
	publishIDs(t, b, "callmgr", "cancel.x", ids)
	s.wait(t, 10*time.Second, "received after re-declare", ids...)
	if !strings.Contains(logs.String(), "consumer cancelled by the broker") {
		t.Error("cancel not logged")
	}
}

// A channel exception on one listener (a bind to a missing exchange) is
// reported to its caller, replaces that listener's channel only, and the
// binding is not kept.
func TestListener_ChannelExceptionIsolated(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	sa, sb := newSeen(), newSeen()
	pa, ra := spawnListener(t, tree, listener.Spec{Name: "victim", Queue: listener.QueueSpec{Name: "victim-q"}, Handlers: []listener.Route{{Handler: sa.handler}}})
	pb, rb := spawnListener(t, tree, listener.Spec{Name: "bystander", Queue: listener.QueueSpec{Name: "bystander-q"}, Handlers: []listener.Route{{Handler: sb.handler}}})
	err := tree.AddBinding(within(t, 10*time.Second), pa, listener.Binding{Exchange: "no-such-exchange", RoutingKey: "k"})
	if err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Fatalf("AddBinding = %v, want a 404", err)
	}
	row := waitListener(t, tree, pa.Id, 10*time.Second, "consuming on a new channel", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Channel != ra.Channel
	})
	if len(row.Bindings) != 0 {
		t.Fatalf("refused binding kept: %+v", row.Bindings)
	}
	if now, _ := tree.Registry().Listener(pb.Id); now.Channel != rb.Channel || now.State != registry.ListenerConsuming {
		t.Fatalf("bystander touched: %+v", now)
	}
	ids := msgs("iso", 2)
	publishIDs(t, b, "", "victim-q", ids[:1])
	publishIDs(t, b, "", "bystander-q", ids[1:])
	sa.wait(t, 10*time.Second, "the first receives", ids[0])
	sb.wait(t, 10*time.Second, "the second receives", ids[1])
}

// Bindings added at run time are applied, recorded, and replayed on a new
// channel; a queue whose spec names none is named once (Kazoo does too), so
// the same queue comes back after a broker restart.
func TestListener_RuntimeBindingsReplayedOnTheQueueNamedOnce(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	s := newSeen()
	pid, row := spawnListener(t, tree, listener.Spec{Name: "anon", Queue: listener.QueueSpec{Exclusive: true, AutoDelete: true},
		Handlers: []listener.Route{{Handler: s.handler}}})
	if !strings.HasPrefix(row.Queue, "warren-anon-") {
		t.Fatalf("queue %q is not named by Warren", row.Queue)
	}
	bind := listener.Binding{Exchange: "callevt", RoutingKey: "call.event.*"}
	if err := tree.AddBinding(within(t, 10*time.Second), pid, bind); err != nil {
		t.Fatal(err)
	}
	publishIDs(t, b, "callevt", "call.event.1", []string{"rt-1"})
	s.wait(t, 5*time.Second, "received through the new binding", "rt-1")

	b.Kill(t)
	b.Start(t)
	after := waitListener(t, tree, pid.Id, 20*time.Second, "consuming again", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Channel != row.Channel
	})
	if after.Queue != row.Queue {
		t.Fatalf("queue renamed from %q to %q across the restart", row.Queue, after.Queue)
	}
	if len(after.Bindings) != 1 || after.Bindings[0] != "callevt/call.event.*" {
		t.Fatalf("bindings after replay: %+v", after.Bindings)
	}
	publishIDs(t, b, "callevt", "call.event.2", []string{"rt-2"})
	s.wait(t, 10*time.Second, "received on the new queue", "rt-2")

	if err := tree.RemoveBinding(within(t, 10*time.Second), pid, bind); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.Ctl(t, "list_bindings", "source_name", "destination_name", "routing_key", "--quiet", "--no-table-headers"), "\n") {
		if strings.HasPrefix(line, "callevt\t"+after.Queue) {
			t.Fatalf("binding still on the broker: %q", line)
		}
	}
}

// A message published by a client Warren did not write (rabbitmq-c's
// amqp-publish) is consumed and dispatched.
func TestListener_ConsumesFromAmqpTools(t *testing.T) {
	if _, err := exec.LookPath("amqp-publish"); err != nil {
		t.Fatal("amqp-publish missing: run .ci/install-deps (apt-get install amqp-tools)")
	}
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	s := newSeen()
	spawnListener(t, tree, listener.Spec{Name: "interop", Queue: listener.QueueSpec{Name: "interop-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "authn.req.*"}},
		Handlers: []listener.Route{{Category: "directory", Name: "authn_req", Handler: s.handler}}})
	// rabbitmq-c reads a trailing "/" as the empty vhost: give it none.
	out, err := exec.Command("amqp-publish", "--url", strings.TrimSuffix(b.URI(), "/"), "-e", "callmgr", "-r", "authn.req.example%2Ecom",
		"-C", "application/json", "-b", `{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"from-c"}`).CombinedOutput()
	if err != nil {
		t.Fatalf("amqp-publish: %v: %s", err, out)
	}
	s.wait(t, 10*time.Second, "rabbitmq-c message dispatched", "from-c")
}

func thousandSpec(i int) listener.Spec {
	return listener.Spec{Name: fmt.Sprintf("thousand-%d", i), Queue: listener.QueueSpec{Name: fmt.Sprintf("thousand-%d", i), AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: fmt.Sprintf("call.event.%d", i)}},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}}
}

func consuming(tree *supervisor.Tree) int {
	n := 0
	for _, l := range tree.Registry().Listeners() {
		if l.State == registry.ListenerConsuming {
			n++
		}
	}
	return n
}

func waitAllConsuming(t testing.TB, tree *supervisor.Tree, n int, d time.Duration) {
	t.Helper()
	treetest.Eventually(t, tree, d, fmt.Sprintf("%d listeners consuming", n), func() bool { return consuming(tree) == n })
}
