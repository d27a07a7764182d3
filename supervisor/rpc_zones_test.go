package supervisor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// CallCollectZones asks every zone and gives each reply with the zone it
// came through, the local zone's first. The responder is one federated
// listener, which answers with the zone its delivery came from: each
// reply must carry the zone CallCollectZones gives it.
func TestCallCollectZones_EachReplyWithItsZone(t *testing.T) {
	east, west := treetest.NullBroker(t, nullbroker.Config{}), treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{LocalZone: "east", RPC: rpc.Config{Workers: 1, Node: "test@host"},
		Zones: []supervisor.Zone{{Name: "west", Brokers: []string{west.URL()}}, {Name: "east", Brokers: []string{east.URL()}}}}
	tree, _ := treetest.Start(t, cfg)
	treetest.WaitReady(t, tree, 10*time.Second)
	pid, err := tree.SpawnListener(testkit.Within(t, 5*time.Second), listener.Spec{Name: "zones", Federate: true,
		Queue:    listener.QueueSpec{Name: "zones-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: "zones.req"}},
		Defaults: kazoo.Defaults{AppName: "zones-test", AppVersion: "1"},
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			return d.Reply(ctx, map[string]any{"Event-Category": "test", "Event-Name": "pong", "Answered-In": d.Zone})
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WaitConsuming(testkit.Within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 10*time.Second, "the federator consuming in west", func() bool {
		for _, l := range tree.Registry().Listeners() {
			if l.Parent != "" && l.Zone == "west" && l.State == registry.ListenerConsuming {
				return true
			}
		}
		return false
	})
	req := rpc.Request{Exchange: kazoo.ExchangeCallmgr, RoutingKey: "zones.req", Zone: "ignored",
		Envelope: kazoo.Envelope{"Event-Category": "test", "Event-Name": "ping"}, Defaults: kazoo.Defaults{AppName: "t", AppVersion: "1"}}
	got, err := tree.CallCollectZones(testkit.Within(t, 5*time.Second), req, rpc.UntilCount(1))
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, r := range got {
		if r.Reply.Text("Answered-In") != r.Zone {
			t.Errorf("reply %v given with zone %s", r.Reply, r.Zone)
		}
		zones = append(zones, r.Zone)
	}
	if strings.Join(zones, " ") != "east west" {
		t.Fatalf("zones %v, want east (the local one) then west", zones)
	}
	req.Pool = "workers"
	if _, err := tree.CallCollectZones(testkit.Within(t, 5*time.Second), req, rpc.UntilCount(1)); err == nil || !strings.Contains(err.Error(), "serves one zone") {
		t.Fatalf("with a pool: %v, want an error saying a pool serves one zone", err)
	}
}
