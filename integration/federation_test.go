package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// twoZones is a config with local on b1 and east on b2.
func twoZones(local, east *Broker) supervisor.Config {
	cfg := supervisor.Config{LocalZone: "local", Zones: []supervisor.Zone{
		{Name: "local", Brokers: []string{local.URI()}}, {Name: "east", Brokers: []string{east.URI()}}}}
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	return cfg
}

// fedSeen records the deliveries a federated listener's handler saw.
type fedSeen struct {
	mu   sync.Mutex
	got  map[string][]string // Msg-ID -> "zone broker" of each delivery
	next chan struct{}
}

func newFedSeen() *fedSeen {
	return &fedSeen{got: map[string][]string{}, next: make(chan struct{}, 1000)}
}

func (s *fedSeen) handler(ctx context.Context, d *listener.Delivery) error {
	s.mu.Lock()
	s.got[d.Envelope.MsgID()] = append(s.got[d.Envelope.MsgID()], d.Zone+" "+d.Broker)
	s.mu.Unlock()
	s.next <- struct{}{}
	if d.ReplyTo != "" {
		return d.Reply(ctx, map[string]any{"Event-Category": "fed", "Event-Name": "pong", "Zone": d.Zone})
	}
	return nil
}

// wait waits until id was delivered, and returns where from.
func (s *fedSeen) wait(t *testing.T, id string) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := s.of(id); len(got) > 0 {
			return got
		}
		select {
		case <-s.next:
		case <-deadline:
			t.Fatalf("%s never delivered", id)
		}
	}
}

func (s *fedSeen) of(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got[id]...)
}

// spawnFederated spawns a federated listener name, bound to callevt with
// "<name>.*", its queue "<name>-q", recording what it handles; it returns
// once the listener consumes.
func spawnFederated(t *testing.T, tree *supervisor.Tree, name string) *fedSeen {
	t.Helper()
	s := newFedSeen()
	pid, _ := spawnListener(t, tree, listener.Spec{Name: name, Federate: true,
		Queue:    listener.QueueSpec{Name: name + "-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: name + ".*"}},
		Handlers: []listener.Route{{Category: "fed", Handler: s.handler}}})
	if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFederatorConsuming waits until the listener name has one federator,
// consuming.
func waitFederatorConsuming(t testing.TB, tree *supervisor.Tree, name string) {
	t.Helper()
	treetest.Eventually(t, tree, 20*time.Second, "the federator of "+name+" consuming", func() bool {
		f := tree.Federators(name)
		return len(f) == 1 && f[0].State == registry.ListenerConsuming
	})
}

func fedEvent(id string) string {
	return fmt.Sprintf(`{"Event-Category":"fed","Event-Name":"ping","Msg-ID":%q,"App-Name":"t","App-Version":"1","Node":"n","Server-ID":""}`, id)
}

// A listener spawned with Federate consumes from the broker of the other
// zone too: a message published there reaches its handler once, tagged
// with that zone and broker; a reply goes back through that broker; a
// binding added at run time reaches the remote queue; killing the remote
// broker leaves local traffic alone and the federator consumes again when
// the broker returns.
func TestFederation_ListenerConsumesFromTheOtherZone(t *testing.T) {
	b1, b2 := StartBroker(t), StartBroker(t)
	tree, logs := treetest.Start(t, twoZones(b1, b2))
	waitReady(t, tree, 20*time.Second)
	s := newFedSeen()
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "fed", Federate: true,
		Queue:    listener.QueueSpec{Name: "fed-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "fed.*"}},
		Defaults: listener.Defaults{AppName: "fed-test", AppVersion: "1"},
		Handlers: []listener.Route{{Category: "fed", Handler: s.handler}}})
	if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	id2 := brokerID(t, b2)
	fedPath := "warren/" + actors.FederatedName + "/fed@" + id2
	waitListener(t, tree, fedPath, 20*time.Second, "the federator consuming on the east broker", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Zone == "east" && l.Parent == "fed" && l.Queue == "fed-q-local"
	})
	if n := ctlCount(t, b2, "fed-q-local", "list_consumers", "queue_name"); n != 1 {
		t.Fatalf("east broker lists %d consumers on fed-q-local, want 1", n)
	}

	ch1, ch2 := rawChannel(t, b1), rawChannel(t, b2)
	publishJSON(t, ch2, "callevt", "fed.1", fedEvent("from-east"))
	publishJSON(t, ch1, "callevt", "fed.1", fedEvent("from-local"))
	s.wait(t, "from-east")
	s.wait(t, "from-local")
	if got := s.of("from-east"); len(got) != 1 || got[0] != "east "+id2 {
		t.Fatalf("east message fedSeen as %v, want once from east %s", got, id2)
	}
	if got := s.of("from-local"); len(got) != 1 || got[0] != "local "+brokerID(t, b1) {
		t.Fatalf("local message fedSeen as %v", got)
	}

	// A request from the east zone is answered through the east broker.
	rq, err := ch2.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := ch2.Consume(rq.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch2.PublishWithContext(within(t, 5*time.Second), "callevt", "fed.2", false, false, amqp.Publishing{
		ContentType: "application/json", ReplyTo: rq.Name, CorrelationId: "c-1", Body: []byte(fedEvent("ask-east"))}); err != nil {
		t.Fatal(err)
	}
	reply := recv(t, replies, 10*time.Second, "the reply on the east broker")
	if reply.CorrelationId != "c-1" || !strings.Contains(string(reply.Body), `"Zone":"east"`) {
		t.Fatalf("reply %q (correlation %q)", reply.Body, reply.CorrelationId)
	}

	// A binding added at run time reaches the east queue too.
	if err := tree.AddBinding(within(t, 10*time.Second), pid, listener.Binding{Exchange: "callevt", RoutingKey: "late.*"}); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, 10*time.Second, "late.* bound on the east broker", func() bool {
		return ctlCount(t, b2, "late.*", "list_bindings", "destination_name", "routing_key") == 1
	})
	publishJSON(t, ch2, "callevt", "late.1", fedEvent("late-east"))
	if got := s.wait(t, "late-east"); len(got) != 1 {
		t.Fatalf("late-east fedSeen %v", got)
	}

	// The east broker dies: local traffic goes on; the federator comes back.
	b2.Kill(t)
	waitListener(t, tree, fedPath, 20*time.Second, "the federator lost its channel", func(l registry.Listener) bool {
		return l.State != registry.ListenerConsuming
	})
	publishJSON(t, ch1, "callevt", "fed.3", fedEvent("local-during"))
	s.wait(t, "local-during")
	if row, _ := tree.Registry().Listener(pid.Id); row.State != registry.ListenerConsuming {
		t.Fatalf("the local listener is %s while east is down", row.State)
	}
	b2.Start(t)
	up := time.Now()
	waitListener(t, tree, fedPath, 30*time.Second, "the federator consuming again", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming
	})
	t.Logf("federator consuming again %v after the east broker accepted connections", time.Since(up).Round(time.Millisecond))
	publishJSON(t, rawChannel(t, b2), "callevt", "fed.4", fedEvent("east-again"))
	if got := s.wait(t, "east-again"); len(got) != 1 {
		t.Fatalf("east-again fedSeen %v", got)
	}

	// Stopping the listener drains it and its federator, then stops both.
	if err := tree.StopListener(within(t, 10*time.Second), "fed"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `msg="listeners drained" lib=warren listeners=2 `) {
		t.Fatalf("StopListener did not drain the listener and its federator (want a \"listeners drained\" line with listeners=2):\n%s", logs.Tail(20))
	}
	treetest.Eventually(t, tree, 10*time.Second, "no federator left", func() bool { return len(tree.Federators("fed")) == 0 })
}

// Publishes go to the local zone unless told: publish.ToZone reaches the
// other zone's broker only, publish.AllZones both, an unknown zone is an
// error. A call to the east zone is answered by a responder there, through
// the east broker, and CallCollect across all zones gathers a reply from
// each zone's responder.
func TestFederation_PublishAndCallByZone(t *testing.T) {
	b1, b2 := StartBroker(t), StartBroker(t)
	tree, _ := treetest.Start(t, twoZones(b1, b2))
	waitReady(t, tree, 20*time.Second)
	queues := map[*Broker]<-chan amqp.Delivery{}
	for _, b := range []*Broker{b1, b2} {
		ch := rawChannel(t, b)
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(q.Name, "zone.#", "callevt", false, nil); err != nil {
			t.Fatal(err)
		}
		if queues[b], err = ch.Consume(q.Name, "", true, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	treetest.Eventually(t, tree, 20*time.Second, "publishers of both zones ready", func() bool {
		zones := map[string]bool{}
		for _, r := range tree.Registry().Publishers() {
			zones[r.Zone] = zones[r.Zone] || r.State == registry.PublisherReady
		}
		return zones["local"] && zones["east"]
	})
	ctx := within(t, 20*time.Second)
	if err := tree.Publish(ctx, "callevt", "zone.east", []byte(`{"to":"east"}`), publish.Confirm(), publish.ToZone("east")); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, queues[b2], 10*time.Second, "the east publish on the east broker"); string(d.Body) != `{"to":"east"}` {
		t.Fatalf("east got %s", d.Body)
	}
	if err := tree.Publish(ctx, "callevt", "zone.all", []byte(`{"to":"all"}`), publish.Confirm(), publish.ToZone(publish.AllZones)); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Broker{b1, b2} {
		if d := recv(t, queues[b], 10*time.Second, "the all-zones publish"); string(d.Body) != `{"to":"all"}` {
			t.Fatalf("got %s", d.Body)
		}
	}
	nothing(t, queues[b1], "the east-only publish on the local broker")
	if err := tree.Publish(ctx, "callevt", "zone.x", []byte(`{}`), publish.ToZone("mars")); err == nil || !strings.Contains(err.Error(), `no zone "mars"`) {
		t.Fatalf("publish to an unknown zone: %v", err)
	}

	// One responder per zone: a listener consuming in its zone.
	for _, z := range []string{"local", "east"} {
		pid, _ := spawnListener(t, tree, listener.Spec{Name: "responder-" + z, Zone: z,
			Queue:    listener.QueueSpec{Name: "responder-" + z, AutoDelete: true},
			Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "zone.req"}},
			Defaults: listener.Defaults{AppName: "responder", AppVersion: "1"},
			Handlers: []listener.Route{{Category: "zone", Handler: func(ctx context.Context, d *listener.Delivery) error {
				return d.Reply(ctx, map[string]any{"Event-Category": "zone", "Event-Name": "resp", "Answered-In": d.Zone})
			}}}})
		if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
			t.Fatal(err)
		}
	}
	req := rpc.Request{Exchange: "callmgr", RoutingKey: "zone.req", Zone: "east",
		Envelope: kazoo.Envelope{"Event-Category": "zone", "Event-Name": "req"},
		Defaults: kazoo.Defaults{AppName: "caller", AppVersion: "1"}}
	reply, err := tree.Call(within(t, 10*time.Second), req)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Text("Answered-In") != "east" {
		t.Fatalf("call to east answered in %q", reply.Text("Answered-In"))
	}
	req.Zone = rpc.AllZones
	replies, err := tree.CallCollect(within(t, 10*time.Second), req, rpc.UntilCount(1))
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, r := range replies {
		where = append(where, r.Text("Answered-In"))
	}
	sort.Strings(where)
	if strings.Join(where, ",") != "east,local" {
		t.Fatalf("collect across zones answered in %v, want east and local", where)
	}
}

// The zones on the command line: warren zones lists both with their
// federators, warren publish --all-zones reaches both brokers, and warren
// listen --federate prints a message published in the other zone.
func TestCLI_ZonesPublishAllZonesListenFederate(t *testing.T) {
	b1, b2 := StartBroker(t), StartBroker(t)
	tree, _ := treetest.Start(t, twoZones(b1, b2))
	waitReady(t, tree, 20*time.Second)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "zfed", Federate: true, Queue: listener.QueueSpec{Name: "zfed-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "zfed.*"}},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	waitFederatorConsuming(t, tree, "zfed")
	addr, err := tree.ServeAdmin(within(t, time.Minute), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out, code, _ := runCLI(t, "zones", "--admin", addr.String())
	wantCLI(t, out, code, 0, "FEDERATORS")
	if l, e := lineWith(out, "local "), lineWith(out, "east "); !strings.Contains(l, "yes") || !strings.Contains(e, "1/1 consuming") {
		t.Fatalf("zones table:\n%s", out)
	}

	ini := filepath.Join(t.TempDir(), "config.ini")
	body := "[zone]\nname = local\namqp_uri = " + b1.URI() + "\n[zone]\nname = east\namqp_uri = " + b2.URI() + "\n[warren]\nzone = local\n"
	if err := os.WriteFile(ini, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var counts []func() int
	for _, b := range []*Broker{b1, b2} {
		ch := rawChannel(t, b)
		if _, err := ch.QueueDeclare("zall-q", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind("zall-q", "zall", "callevt", false, nil); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, func() int {
			q, err := ch.QueueDeclarePassive("zall-q", false, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			return q.Messages
		})
	}
	out, code, _ = runCLI(t, "publish", "--config", ini, "--all-zones", "--confirm", "--exchange", "callevt", "--key", "zall", `{"a":1}`)
	wantCLI(t, out, code, 0, "published and confirmed 1 of 1 message")
	testkit.Poll(t, 10*time.Second, "the message in both zones", func() bool { return counts[0]() == 1 && counts[1]() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	listen := exec.CommandContext(ctx, warrenCLI(t), "listen", "--config", ini, "--federate", "--exchange", "callevt", "--passive",
		"--key", "zlisten.*", "--count", "1")
	var lout strings.Builder
	listen.Stdout, listen.Stderr = &lout, &lout
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, 30*time.Second, "warren listen's federator consuming on the east broker", func() bool {
		return ctlCount(t, b2, "warren-listen@", "list_consumers", "queue_name") == 1 // its queue, named once for the federator
	})
	publishJSON(t, rawChannel(t, b2), "callevt", "zlisten.1", `{"Event-Category":"z","Event-Name":"from-east"}`)
	if err := listen.Wait(); err != nil || !strings.Contains(lout.String(), "from-east") {
		t.Fatalf("warren listen --federate: %v\n%s", err, lout.String())
	}
}

// Failover rules: with the whole local zone down, a publish waits for it
// (bounded by its ctx and MaxWait) and fails; it never spills to the other
// zone, and the federated listener's federator in that zone keeps
// consuming.
func TestFault_FederationLocalZoneDownNeverSpills(t *testing.T) {
	b1, b2 := StartBroker(t), StartBroker(t)
	cfg := twoZones(b1, b2)
	cfg.Publish.MaxWait = time.Second
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	s := spawnFederated(t, tree, "nospill")
	waitFederatorConsuming(t, tree, "nospill")
	b1.Kill(t)
	waitConn(t, tree, actors.ConnID(brokerID(t, b1), registry.Publish), 20*time.Second, "local publishing connection down",
		func(c registry.Connection) bool { return !c.Available })
	err := tree.Publish(within(t, 5*time.Second), "callevt", "nospill.1", []byte(fedEvent("spilled")), publish.Confirm())
	if !errors.Is(err, publish.ErrNoChannel) {
		t.Fatalf("publish with the local zone down: %v, want ErrNoChannel after MaxWait", err)
	}
	publishJSON(t, rawChannel(t, b2), "callevt", "nospill.2", fedEvent("east-while-local-down"))
	s.wait(t, "east-while-local-down")
	if got := s.of("spilled"); len(got) != 0 {
		t.Fatalf("the local publish reached the other zone: %v", got)
	}
}

// Federators follow the brokers: a broker of a new zone added at run time
// gets a federator of every federated listener, which consumes from it;
// removing the broker stops the federator.
func TestFederation_FederatorsFollowBrokersAddedAndRemoved(t *testing.T) {
	b1, b2 := StartBroker(t), StartBroker(t)
	cfg := oneZone(b1.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	s := spawnFederated(t, tree, "follow")
	if f := tree.Federators("follow"); len(f) != 0 {
		t.Fatalf("federators with one zone: %+v", f)
	}
	id2, err := tree.AddBroker(within(t, 10*time.Second), b2.URI(), "west")
	if err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 20*time.Second, "a federator consuming on the added broker", func() bool {
		f := tree.Federators("follow")
		return len(f) == 1 && f[0].Broker == id2 && f[0].Zone == "west" && f[0].State == registry.ListenerConsuming
	})
	publishJSON(t, rawChannel(t, b2), "callevt", "follow.1", fedEvent("from-west"))
	if got := s.wait(t, "from-west"); len(got) != 1 || got[0] != "west "+id2 {
		t.Fatalf("from-west seen as %v", got)
	}
	if err := tree.RemoveBroker(within(t, 10*time.Second), id2); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 20*time.Second, "the federator gone with its broker", func() bool { return len(tree.Federators("follow")) == 0 })
}
