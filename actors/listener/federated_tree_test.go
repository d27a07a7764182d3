package listener_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// eastPassword is the east broker's password: no header, reply or row
// may show it.
const eastPassword = "s3cretPw9"

// zonesRig is a tree of two zones, each on a null broker of its own:
// "local" (the tree's) and "east", whose broker wants a password.
type zonesRig struct {
	local, east     *nullbroker.Server
	localID, eastID string
	tree            *supervisor.Tree
}

func startZones(t *testing.T, mod func(*supervisor.Config)) *zonesRig {
	t.Helper()
	r := &zonesRig{local: treetest.NullBroker(t, nullbroker.Config{}),
		east: treetest.NullBroker(t, nullbroker.Config{User: "kazoo", Password: eastPassword})}
	var err error
	if r.localID, err = actors.BrokerID(r.local.URL()); err != nil {
		t.Fatal(err)
	}
	if r.eastID, err = actors.BrokerID(r.east.URL()); err != nil {
		t.Fatal(err)
	}
	cfg := supervisor.Config{LocalZone: "local", Prechannels: 2, Zones: []supervisor.Zone{
		{Name: "local", Brokers: []string{r.local.URL()}}, {Name: "east", Brokers: []string{r.east.URL()}}}}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.RPC.Workers = -1
	if mod != nil {
		mod(&cfg)
	}
	r.tree, _ = treetest.Start(t, cfg)
	if err := r.tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return r
}

// targetedQueue declares a queue on ch bound to "targeted" with key.
func targetedQueue(t *testing.T, ch *amqp.Channel, name, key string) {
	t.Helper()
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(name, key, "targeted", false, nil); err != nil {
		t.Fatal(err)
	}
}

// seen is what a handler saw of a delivery's envelope.
type seen struct {
	msgID, broker, zone string
	hasBroker, hasZone  bool
	deliveryZone        string
}

// A federator's deliveries carry AMQP-Broker (the remote broker's id, never
// its credentials; a value the sender put there is replaced) and
// AMQP-Broker-Zone, as Kazoo's listener_federator adds them; the parent's
// own deliveries carry neither. The reply goes back through the remote
// broker.
func TestFederator_EnvelopeNamesTheRemoteBrokerAndZone(t *testing.T) {
	r := startZones(t, nil)
	got := make(chan seen, 4)
	errs := make(chan error, 4)
	spawn(t, r.tree, listener.Spec{Name: "fedl", Queue: listener.QueueSpec{Name: "fedl-q", AutoDelete: true}, Federate: true,
		Defaults: listener.Defaults{AppName: "warren-test", AppVersion: "1.0"},
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			b, hasB := d.Envelope["AMQP-Broker"].(string)
			z, hasZ := d.Envelope["AMQP-Broker-Zone"].(string)
			got <- seen{d.Envelope.MsgID(), b, z, hasB, hasZ, d.Zone}
			if d.Envelope.ServerID() != "" {
				errs <- d.Reply(ctx, map[string]any{"Event-Category": "fed", "Event-Name": "pong"})
			}
			return nil
		}}}})
	treetest.Eventually(t, r.tree, 10*time.Second, "the east federator consuming", func() bool {
		fs := r.tree.Federators("fedl")
		return len(fs) == 1 && fs[0].State == registry.ListenerConsuming
	})

	east, local := rawChannel(t, r.east), rawChannel(t, r.local)
	targetedQueue(t, east, "east-replies", "srv-e")
	publishJSON(t, east, "", "fedl-q-local", event("fed", "ping", "m-east",
		`"Server-ID":"srv-e"`, `"AMQP-Broker":"amqp://mallory:pw@elsewhere:5672"`, `"AMQP-Broker-Zone":"mars"`))
	s := recv(t, got, 5*time.Second, "the federated delivery")
	if s.msgID != "m-east" || s.broker != r.eastID || s.zone != "east" || s.deliveryZone != "east" {
		t.Fatalf("federated delivery saw %+v; want AMQP-Broker %q, AMQP-Broker-Zone east", s, r.eastID)
	}
	if strings.Contains(s.broker, eastPassword) || strings.Contains(s.broker, "kazoo") {
		t.Fatalf("AMQP-Broker %q shows the broker's credentials", s.broker)
	}
	if err := recv(t, errs, 5*time.Second, "the federated reply"); err != nil {
		t.Fatalf("reply to the federated request: %v", err)
	}
	d, ok, err := east.Get("east-replies", true)
	if err != nil || !ok || d.RoutingKey != "srv-e" {
		t.Fatalf("reply on the east broker: %+v %v %v", d, ok, err)
	}

	publishJSON(t, local, "", "fedl-q", event("fed", "ping", "m-local"))
	if s := recv(t, got, 5*time.Second, "the local delivery"); s.msgID != "m-local" || s.hasBroker || s.hasZone || s.deliveryZone != "local" {
		t.Fatalf("local delivery saw %+v; want no AMQP-Broker nor AMQP-Broker-Zone", s)
	}
}

// A reply goes back to the zone its request came from when the request
// says so (a consumer:// hint naming a broker id, AMQP-Broker, or
// AMQP-Broker-Zone with a consumer:// one), not blindly to the local one; a hint the tree cannot
// read leaves it local; a pid:// Server-ID is answered on its key with
// Deliver-To-PID.
func TestDelivery_ReplyGoesBackToTheZoneOfItsRequest(t *testing.T) {
	r := startZones(t, nil)
	errs := make(chan replyErr, 8)
	spawn(t, r.tree, responder("resp", errs))
	east, local := rawChannel(t, r.east), rawChannel(t, r.local)
	targetedQueue(t, east, "east-replies", "srv-h")
	targetedQueue(t, local, "local-replies", "srv-h")

	for _, tt := range []struct {
		name, msgID, extra string
		toEast             bool
		pid                string
	}{
		{name: "consumer:// naming the east broker", msgID: "m1", extra: `"Server-ID":"consumer://` + r.eastID + `/srv-h"`, toEast: true},
		{name: "AMQP-Broker, a URI with credentials", msgID: "m2", extra: `"Server-ID":"srv-h","AMQP-Broker":"` + r.east.URL() + `"`, toEast: true},
		{name: "Kazoo's federator: a pid hint and AMQP-Broker-Zone", msgID: "m3", extra: `"Server-ID":"consumer://<0.12.0>/srv-h","AMQP-Broker-Zone":"east"`, toEast: true},
		{name: "AMQP-Broker-Zone with a plain Server-ID", msgID: "m7", extra: `"Server-ID":"srv-h","AMQP-Broker-Zone":"east"`},
		{name: "Kamailio's connection number", msgID: "m4", extra: `"Server-ID":"consumer://2/srv-h"`},
		{name: "pid://", msgID: "m5", extra: `"Server-ID":"pid://<0.7.0>/srv-h"`, pid: "<0.7.0>"},
		{name: "no hint", msgID: "m6", extra: `"Server-ID":"srv-h"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			publishJSON(t, local, "", "resp-q", event("directory", "authn_req", tt.msgID, tt.extra))
			if e := recv(t, errs, 5*time.Second, "the reply's result"); e.what != "reply "+tt.msgID || e.err != nil {
				t.Fatalf("%s: %v", e.what, e.err)
			}
			// The reply was confirmed: it is in its queue already.
			want, other := local, east
			if tt.toEast {
				want, other = east, local
			}
			wq, oq := map[bool]string{true: "east-replies", false: "local-replies"}[tt.toEast], map[bool]string{true: "local-replies", false: "east-replies"}[tt.toEast]
			d, ok, err := want.Get(wq, true)
			if err != nil || !ok {
				t.Fatalf("no reply in %s: %v", wq, err)
			}
			var body map[string]any
			if err := json.Unmarshal(d.Body, &body); err != nil || body["Msg-ID"] != tt.msgID || d.RoutingKey != "srv-h" {
				t.Fatalf("reply %+v %s (%v)", d, d.Body, err)
			}
			if got, _ := d.Headers["Deliver-To-PID"].(string); got != tt.pid {
				t.Fatalf("Deliver-To-PID = %q, want %q", got, tt.pid)
			}
			if d, ok, _ := other.Get(oq, true); ok {
				t.Fatalf("a reply went to %s too: %s", oq, d.Body)
			}
		})
	}
}

// In a tree without publishers, a reply that must reach another zone than
// the listener's fails with ErrReplyNoRoute instead of going out locally;
// a pid:// reply goes out on the listener's own channel with its header.
func TestDelivery_ReplyToAnotherZoneWithoutPublishers(t *testing.T) {
	r := startZones(t, noPublishers)
	errs := make(chan replyErr, 4)
	spawn(t, r.tree, responder("resp", errs))
	local := rawChannel(t, r.local)
	targetedQueue(t, local, "local-replies", "srv-h")

	publishJSON(t, local, "", "resp-q", event("directory", "authn_req", "m1", `"Server-ID":"consumer://`+r.eastID+`/srv-h"`))
	if e := recv(t, errs, 5*time.Second, "the reply's result"); !errors.Is(e.err, listener.ErrReplyNoRoute) || !strings.Contains(e.err.Error(), "east") {
		t.Fatalf("%s: %v, want ErrReplyNoRoute naming east", e.what, e.err)
	}
	publishJSON(t, local, "", "resp-q", event("directory", "authn_req", "m2", `"Server-ID":"pid://<0.8.0>/srv-h"`))
	if e := recv(t, errs, 5*time.Second, "the reply's result"); e.err != nil {
		t.Fatalf("%s: %v", e.what, e.err)
	}
	d, ok, err := local.Get("local-replies", true)
	if err != nil || !ok || d.Headers["Deliver-To-PID"] != "<0.8.0>" {
		t.Fatalf("pid:// reply on the own channel: %+v %v %v", d, ok, err)
	}
	if d, ok, _ := local.Get("local-replies", true); ok {
		t.Fatalf("the refused reply went out locally: %s", d.Body)
	}
}

// A federator waiting for its broker (east never answers) shows in its row
// the queue, broker and zone it will consume from, not blanks (issue 24,
// point 10).
func TestFederator_WaitingRowNamesItsQueueBrokerAndZone(t *testing.T) {
	const down = "amqp://guest:guest@127.0.0.1:1/"
	r := startZones(t, func(cfg *supervisor.Config) { cfg.Zones[1].Brokers = []string{down} })
	spawn(t, r.tree, listener.Spec{Name: "fedw", Queue: listener.QueueSpec{Name: "fedw-q", AutoDelete: true}, Federate: true,
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	var fs []registry.Listener
	treetest.Eventually(t, r.tree, 10*time.Second, "the east federator's row", func() bool {
		fs = r.tree.Federators("fedw")
		return len(fs) == 1
	})
	f := fs[0]
	if f.State == registry.ListenerConsuming || f.Queue != "fedw-q-local" || f.Broker != "127.0.0.1:1" || f.Zone != "east" {
		t.Fatalf("waiting federator's row: state %s queue %q broker %q zone %q; want not consuming, fedw-q-local, 127.0.0.1:1, east",
			f.State, f.Queue, f.Broker, f.Zone)
	}
}
