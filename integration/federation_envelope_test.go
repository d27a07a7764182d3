package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// On a real RabbitMQ (the shared node, reached as 127.0.0.1 for zone local
// and as localhost for zone east: two broker ids, one node): a federator's
// delivery carries AMQP-Broker (the east broker's id, no credentials) and
// AMQP-Broker-Zone east, the local listener's neither; a pid:// request is
// answered on its key with Deliver-To-PID; a local request whose
// consumer:// Server-ID names the east broker is answered through the
// east zone's publishers.
func TestFederation_EnvelopeHeadersAndReplyHints(t *testing.T) {
	b := SharedBroker(t)
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	eastURI := strings.Replace(b.URI(), "@127.0.0.1:", "@localhost:", 1)
	eastID, err := actors.BrokerID(eastURI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := supervisor.Config{LocalZone: "local", Zones: []supervisor.Zone{
		{Name: "local", Brokers: []string{b.URI()}}, {Name: "east", Brokers: []string{eastURI}}}}
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	cfg.RPC.Workers = -1
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 10*time.Second)

	type seen struct {
		id, broker, zone string
	}
	got := make(chan seen, 4)
	replied := make(chan error, 4)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: name, Federate: true,
		Queue:    listener.QueueSpec{Name: name + "-q", AutoDelete: true},
		Defaults: listener.Defaults{AppName: "fed-test", AppVersion: "1"},
		Handlers: []listener.Route{{Category: "fed", Handler: func(ctx context.Context, d *listener.Delivery) error {
			br, _ := d.Envelope["AMQP-Broker"].(string)
			z, _ := d.Envelope["AMQP-Broker-Zone"].(string)
			got <- seen{d.Envelope.MsgID(), br, z}
			replied <- d.Reply(ctx, map[string]any{"Event-Category": "fed", "Event-Name": "pong"})
			return nil
		}}}})
	if err := tree.WaitConsuming(within(t, 10*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	waitFederatorConsuming(t, tree, name)

	ch := rawChannel(t, b)
	replies := name + "-replies"
	if _, err := ch.QueueDeclare(replies, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(replies, replies, "targeted", false, nil); err != nil {
		t.Fatal(err)
	}
	event := func(id, serverID string) string {
		return `{"Event-Category":"fed","Event-Name":"ping","Msg-ID":"` + id + `","App-Name":"t","App-Version":"1","Server-ID":"` + serverID + `"}`
	}
	reply := func(what string) amqp.Delivery {
		t.Helper()
		if err := recv(t, replied, 5*time.Second, what); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		d, ok, err := ch.Get(replies, true) // confirmed: in the queue already
		if err != nil || !ok {
			t.Fatalf("%s: not in %s (%v)", what, replies, err)
		}
		return d
	}

	// Through the federator (its queue on the east broker).
	publishJSON(t, ch, "", name+"-q-local", event("from-east", "pid://<0.5.0>/"+replies))
	s := recv(t, got, 5*time.Second, "the federated delivery")
	if s.id != "from-east" || s.broker != eastID || s.zone != "east" || strings.Contains(s.broker, "guest") {
		t.Fatalf("federated delivery saw %+v; want AMQP-Broker %q and zone east", s, eastID)
	}
	d := reply("the pid:// reply")
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil || body["Msg-ID"] != "from-east" || d.Headers["Deliver-To-PID"] != "<0.5.0>" {
		t.Fatalf("pid:// reply %s headers %v (%v)", d.Body, d.Headers, err)
	}

	// Through the local listener, hinted to east.
	eastPublished := func() (n uint64) {
		for _, p := range tree.Registry().Publishers() {
			if p.Zone == "east" {
				n += p.Confirmed
			}
		}
		return n
	}
	before := eastPublished()
	publishJSON(t, ch, "", name+"-q", event("local-hinted", "consumer://"+eastID+"/"+replies))
	if s := recv(t, got, 5*time.Second, "the local delivery"); s.id != "local-hinted" || s.broker != "" || s.zone != "" {
		t.Fatalf("local delivery saw %+v; want no AMQP-Broker nor AMQP-Broker-Zone", s)
	}
	if d := reply("the hinted reply"); d.RoutingKey != replies {
		t.Fatalf("hinted reply on key %q", d.RoutingKey)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the east publishers counting the reply", func() bool {
		return eastPublished() > before
	})
	if rows := tree.Federators(name); len(rows) != 1 || rows[0].State != registry.ListenerConsuming {
		t.Fatalf("federators %+v", rows)
	}
}
