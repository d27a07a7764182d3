package nodes_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/nodes"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// startNodesTree starts a tree on a null broker that advertises as node
// every period, and waits until its nodes listener consumes.
func startNodesTree(t *testing.T, node string, period time.Duration) (*supervisor.Tree, *nullbroker.Server) {
	t.Helper()
	nb := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.RPC.Workers = -1
	cfg.Nodes = supervisor.NodesConfig{Node: node, Period: period, Version: "v0.0.1"}
	tree, _ := treetest.Start(t, cfg, treetest.Nodes())
	treetest.WaitReady(t, tree, 10*time.Second)
	treetest.WaitListener(t, tree, "warren/nodes/"+nodes.ListenerName, 10*time.Second, "consuming",
		func(l registry.Listener) bool { return l.State == registry.ListenerConsuming })
	return tree, nb
}

func waitNode(t *testing.T, tree *supervisor.Tree, name, what string, cond func(registry.Node, bool) bool) registry.Node {
	t.Helper()
	var row registry.Node
	var found bool
	err := tree.Registry().Wait(testkit.Within(t, 10*time.Second), func(s *registry.Snapshot) (bool, error) {
		row, found = s.Node(name)
		return cond(row, found), nil
	})
	if err != nil {
		t.Fatalf("node %s: %s not reached: %v (last row %+v, found %v)", name, what, err, row, found)
	}
	return row
}

func TestNodes_RecordedKazooAdvertiseShowsUpAsAKazooNodeAndExpires(t *testing.T) {
	tree, nb := startNodesTree(t, "warren-a@test", time.Hour)
	body, err := os.ReadFile("testdata/kazoo_advertise.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["Expires"] = 400 // forgotten 500 ms after it is heard: the expiry is what this test waits for
	short, _ := json.Marshal(m)

	ch := testkit.AMQPChannel(t, nb.URL())
	ctx := testkit.Within(t, 5*time.Second)
	for _, b := range [][]byte{body, short} {
		if err := ch.PublishWithContext(ctx, kazoo.ExchangeNodes, "", false, false,
			amqp.Publishing{ContentType: "application/json", Body: b}); err != nil {
			t.Fatalf("publish the recorded advertisement: %v", err)
		}
		wantLife := 15431250 * time.Microsecond // 12345 ms × 1.25, as kz_nodes
		if len(b) == len(short) {
			wantLife = 500 * time.Millisecond
		}
		row := waitNode(t, tree, "kazoo_apps@kz1.example.com", "recorded", func(r registry.Node, ok bool) bool {
			return ok && r.Expires.Sub(r.Heard) == wantLife
		})
		if row.Kind != registry.NodeKazoo || row.Zone != "east" || row.Version != "4.3.142 - 19" ||
			strings.Join(row.Apps, ",") != "blackhole,callflow,crossbar,ecallmgr" || row.Self {
			t.Fatalf("recorded Kazoo node: %+v", row)
		}
	}
	waitNode(t, tree, "kazoo_apps@kz1.example.com", "forgotten after its expiry", func(_ registry.Node, ok bool) bool { return !ok })
	if _, ok := tree.Registry().Snapshot().Node("warren-a@test"); !ok {
		t.Fatal("the tree's own row went with the expired node")
	}
}

func TestNodes_AdvertisesItselfAsKazooDoes(t *testing.T) {
	tree, nb := startNodesTree(t, "warren-b@test", 100*time.Millisecond)
	ch := testkit.AMQPChannel(t, nb.URL())
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "", kazoo.ExchangeNodes, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := testkit.Recv(t, deliveries, 10*time.Second, "an advertisement on the nodes exchange")
	if d.Exchange != kazoo.ExchangeNodes || d.RoutingKey != "" || d.ContentType != "application/json" {
		t.Fatalf("published to %q/%q as %q, want nodes/\"\" as application/json", d.Exchange, d.RoutingKey, d.ContentType)
	}
	e, err := kazoo.Parse(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := nodes.Advertise.Validate(e); err != nil {
		t.Fatalf("advertisement fails kapi_nodes' advertise_v: %v\n%s", err, d.Body)
	}
	if e.Text("Node") != "warren-b@test" || e.Text("Expires") != "100" || e.Text("Zone") != "local" || e.Text("App-Name") != "warren" {
		t.Fatalf("advertisement: %s", d.Body)
	}
	row := waitNode(t, tree, "warren-b@test", "its own row", func(_ registry.Node, ok bool) bool { return ok })
	if !row.Self || row.Kind != registry.NodeWarren || !strings.Contains(strings.Join(row.Apps, ","), "publishers") {
		t.Fatalf("own row: %+v", row)
	}
	out, _ := json.Marshal(tree.Nodes())
	if strings.Contains(string(out), "guest:guest") || strings.Contains(string(d.Body), "guest:guest") {
		t.Fatalf("a password in the rows or the advertisement: %s", out)
	}
}

func TestNodes_SilentTreeListensButDoesNotListItself(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	cfg.RPC.Workers = -1
	cfg.Nodes = supervisor.NodesConfig{Node: "warren-c@test", Period: 50 * time.Millisecond, Silent: true}
	tree, _ := treetest.Start(t, cfg, treetest.Nodes())
	treetest.WaitReady(t, tree, 10*time.Second)
	treetest.WaitListener(t, tree, "warren/nodes/"+nodes.ListenerName, 10*time.Second, "consuming",
		func(l registry.Listener) bool { return l.State == registry.ListenerConsuming })
	body, err := os.ReadFile("testdata/kazoo_advertise.json")
	if err != nil {
		t.Fatal(err)
	}
	ch := testkit.AMQPChannel(t, nb.URL())
	if err := ch.PublishWithContext(testkit.Within(t, 5*time.Second), kazoo.ExchangeNodes, "", false, false,
		amqp.Publishing{ContentType: "application/json", Body: body}); err != nil {
		t.Fatal(err)
	}
	waitNode(t, tree, "kazoo_apps@kz1.example.com", "heard", func(_ registry.Node, ok bool) bool { return ok })
	// An advertising tree writes its own row when its nodes actor starts,
	// before its listener consumes: by now it would be there.
	if rows := tree.Nodes(); len(rows) != 1 {
		t.Fatalf("a silent tree lists %+v, want the Kazoo node only", rows)
	}
}
