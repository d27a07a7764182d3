package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// The tree mirrors kz_amqp_sup: the five children in Kazoo's names, their
// kinds and restart strategies, one connection actor per broker, and the
// broker's own view agrees (one connection, control channel + prechannels).
func TestTree_ShapeMirrorsKazooSupervisor(t *testing.T) {
	b := StartBroker(t)
	cfg := bare(oneZone(b.URI()))
	cfg.Prechannels = 4
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)

	root := tree.Snapshot()
	if root == nil || root.Name != "warren" || root.Kind != registry.Supervisor || root.Strategy != "one_for_one 5/10s" {
		t.Fatalf("root = %+v", root)
	}
	// Kazoo's five children, plus Warren's supervisors for what services
	// start through the tree (Kazoo adds its poolboy pools the same way).
	want := map[string]registry.ActorKind{
		"connections": registry.Worker, "connection_sup": registry.Supervisor,
		"federated_listeners_sup": registry.Supervisor, "assignments": registry.Worker, "bootstrap": registry.Worker,
		"listeners": registry.Supervisor, "publishers": registry.Supervisor, "workers": registry.Supervisor,
	}
	seen := map[string]bool{}
	for _, c := range root.Children {
		kind, ok := want[c.Name]
		if !ok || c.Kind != kind || c.Status != registry.Running {
			t.Errorf("child %+v: want kind %q, running", c, kind)
		}
		seen[c.Name] = true
		if c.Name == "connection_sup" {
			if c.Strategy != "simple_one_for_one 5/10s" || len(c.Children) != 1 || c.Children[0].Name != brokerID(t, b) {
				t.Errorf("connection_sup = %+v", c)
			}
		}
		if c.Name == "bootstrap" && c.Detail != actors.BootstrapReady {
			t.Errorf("bootstrap detail = %q", c.Detail)
		}
	}
	for _, name := range []string{"connections", "connection_sup", "federated_listeners_sup", "assignments", "bootstrap", "listeners"} {
		if !seen[name] {
			t.Errorf("root has no child %q", name)
		}
	}

	// The broker's own view: our connection, 1 control + 4 prechannels, and
	// the targeted exchange declared by bootstrap.
	if n := ctlCount(t, b, "warren", "list_connections", "client_properties"); n != 1 {
		t.Errorf("broker lists %d warren connections, want 1", n)
	}
	testkit.Poll(t, 10*time.Second, "5 channels on the broker", func() bool {
		return ctlCount(t, b, "", "list_channels", "number") == 5
	})
	if !strings.Contains(b.Ctl(t, "list_exchanges", "name", "type"), "targeted\tdirect") {
		t.Error("targeted exchange not declared")
	}
	conn, _ := tree.Registry().Connection(brokerID(t, b))
	if conn.State != registry.Connected || !conn.Available || conn.ChannelMax != 2047 || conn.Product != "RabbitMQ" {
		t.Errorf("connection row = %+v", conn)
	}
	if pre := tree.Registry().Prechannels(conn.ID); len(pre) != 4 {
		t.Errorf("prechannels = %d, want 4", len(pre))
	}
}
