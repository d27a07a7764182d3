package integration

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// A zone backed by a three-node RabbitMQ cluster: a listener on a quorum
// queue keeps consuming when the node its channel is on is killed (its
// float channel moves to another node of the zone), and every publish
// confirmed across the kill is consumed afterwards.
func TestFault_ClusterQuorumListenerSurvivesANodeKill(t *testing.T) {
	nodes := StartCluster(t, 3)
	cfg := oneZone(ClusterURIs(nodes)...)
	cfg.Connection.Heartbeat = 2 * time.Second
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 30*time.Second)
	waitPublishersReady(t, tree, 20*time.Second)

	var mu sync.Mutex
	got := map[string]int{}
	var progress testkit.Signal // notified on every confirm and every delivery
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "quorum",
		Queue:    listener.QueueSpec{Name: "quorum-q", Durable: true, Args: amqp.Table{"x-queue-type": "quorum"}},
		Bindings: []listener.Binding{{Exchange: "kapps", RoutingKey: "quorum.#"}},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			mu.Lock()
			got[d.Envelope.MsgID()]++
			mu.Unlock()
			progress.Notify()
			return nil
		}}}})
	if err := tree.WaitConsuming(within(t, 30*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	if out := nodes[0].Ctl(t, "list_queues", "name", "type", "--quiet", "--no-table-headers"); !strings.Contains(out, "quorum-q\tquorum") {
		t.Fatalf("queues: %q, want quorum-q as a quorum queue", out)
	}

	var confirmed sync.Map
	var lastErr atomic.Value
	var sent sync.WaitGroup
	stop := make(chan struct{})
	n := 0
	var nmu sync.Mutex
	sent.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			nmu.Lock()
			n++
			id := "q-" + strconv.Itoa(n)
			nmu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err := tree.Publish(ctx, "kapps", "quorum.x", []byte(`{"Event-Category":"q","Event-Name":"m","Msg-ID":"`+id+`"}`),
				publish.Confirm(), publish.Persistent())
			cancel()
			if err == nil {
				confirmed.Store(id, true)
				progress.Notify()
			} else {
				lastErr.Store(err.Error())
			}
		}
	})
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		sent.Wait()
	}
	t.Cleanup(stopLoad) // before the tree's shutdown (cleanups run last first)
	count := func() int {
		c := 0
		confirmed.Range(func(any, any) bool { c++; return true })
		return c
	}
	testkit.Await(t, 20*time.Second, "confirmed publishes flowing", progress.Changed, func() bool { return count() > 100 })

	row, _ := tree.Registry().Listener(pid.Id)
	var victim *Broker
	for _, b := range nodes {
		if brokerID(t, b) == row.Broker {
			victim = b
		}
	}
	if victim == nil {
		t.Fatalf("the listener's broker %q is none of the cluster's nodes", row.Broker)
	}
	killed := time.Now()
	victim.Kill(t)
	moved := waitListener(t, tree, pid.Id, 60*time.Second, "consuming on another node", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Broker != row.Broker
	})
	t.Logf("listener moved from %s to %s, consuming again %v after the kill", row.Broker, moved.Broker, time.Since(killed).Round(time.Millisecond))
	before := count()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last publish error: %v", lastErr.Load())
			for _, b := range nodes {
				if b != victim {
					out, err := b.CtlErr("list_queues", "name", "type", "leader", "members", "online", "messages")
					t.Logf("%s: %v\n%s", b.Name, err, out)
				}
			}
		}
	})
	testkit.Await(t, 20*time.Second, "confirmed publishes after the kill", progress.Changed, func() bool { return count() > before+100 })
	t.Logf("100 more publishes confirmed %v after the kill", time.Since(killed).Round(time.Millisecond))
	stopLoad()

	testkit.Await(t, 60*time.Second, "every confirmed publish consumed", progress.Changed, func() bool {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		confirmed.Range(func(k, _ any) bool {
			if got[k.(string)] == 0 {
				missing++
			}
			return true
		})
		return missing == 0
	})
	t.Logf("%d publishes confirmed across the kill, all consumed", count())
}
