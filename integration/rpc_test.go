package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

func authnReq(realm string) rpc.Request {
	return rpc.Request{Exchange: "callmgr", RoutingKey: kazoo.AuthnReqRoutingKey(realm), Envelope: kazoo.Envelope{
		"Event-Category": "directory", "Event-Name": "authn_req", "Auth-Realm": realm, "Auth-User": "alice",
	}, Defaults: kazoo.Defaults{AppName: "warren-test", AppVersion: "1"}}
}

// responder spawns a listener answering authn requests with the given tag.
func responder(t testing.TB, tree *supervisor.Tree, name, tag string, delay time.Duration) {
	t.Helper()
	spawnListener(t, tree, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name, AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "authn.req.*"}},
		Defaults: kazoo.Defaults{AppName: name, AppVersion: "1"},
		Handlers: []listener.Route{{Category: "directory", Name: "authn_req", Handler: func(ctx context.Context, d *listener.Delivery) error {
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-ctx.Done():
				}
			}
			return d.Reply(ctx, map[string]any{"Event-Category": "directory", "Event-Name": "authn_resp", "Auth-Password": tag})
		}}}})
}

func rpcTree(t testing.TB, b *Broker) *supervisor.Tree {
	t.Helper()
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	treetest.Eventually(t, tree, 10*time.Second, "RPC workers ready", func() bool {
		ws := tree.Registry().Workers()
		for _, w := range ws {
			if w.State != registry.WorkerReady {
				return false
			}
		}
		return len(ws) == rpc.DefaultWorkers
	})
	return tree
}

// A call is answered the Kazoo way (targeted + Server-ID, Msg-ID echoed) and
// through direct reply-to between Warren peers.
func TestRPC_CallAnsweredByListener(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	responder(t, tree, "authn", "s3cr3t", 0)
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct reply-to %v", direct), func(t *testing.T) {
			req := authnReq("example.com")
			req.DirectReply = direct
			req.Envelope["Msg-ID"] = fmt.Sprintf("call-%v", direct)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			reply, err := tree.Call(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if reply.MsgID() != req.Envelope.MsgID() || reply.Text("Auth-Password") != "s3cr3t" || reply.Name() != "authn_resp" || reply.Text("App-Name") != "authn" {
				t.Fatalf("reply = %v", reply)
			}
		})
	}
}

// A responder that never answers: the call ends with ErrCallTimeout at its
// deadline. (With no queue bound at all it fails at once: see
// TestRPC_UnroutableFailsFastAndKazooRules.)
func TestRPC_CallTimesOut(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	spawnListener(t, tree, listener.Spec{Name: "mute", Queue: listener.QueueSpec{Name: "mute", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "authn.req.*"}},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tree.Call(ctx, authnReq("nobody.example.com"))
	if !errors.Is(err, rpc.ErrCallTimeout) {
		t.Fatalf("err = %v, want ErrCallTimeout", err)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
		t.Fatalf("timed out after %v", took)
	}
	treetest.Eventually(t, tree, 5*time.Second, "timeout counted", func() bool {
		var n uint64
		for _, w := range tree.Registry().Workers() {
			n += w.Timeouts
		}
		return n == 1
	})
}

// call_collect gathers the replies of three responders; a fourth, late one
// is dropped and counted.
func TestRPC_CallCollectFromThreeResponders(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	for i := range 3 {
		responder(t, tree, fmt.Sprintf("r%d", i), fmt.Sprintf("p%d", i), 0)
	}
	responder(t, tree, "slow", "late", 800*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, err := tree.CallCollect(ctx, authnReq("example.com"), rpc.UntilCount(3))
	if err != nil || len(replies) != 3 {
		t.Fatalf("CallCollect = %d replies, %v", len(replies), err)
	}
	seen := map[string]bool{}
	for _, r := range replies {
		seen[r.Text("Auth-Password")] = true
	}
	if !seen["p0"] || !seen["p1"] || !seen["p2"] {
		t.Fatalf("replies from %v", seen)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the slow reply counted late", func() bool {
		var late uint64
		for _, w := range tree.Registry().Workers() {
			late += w.Late
		}
		return late == 1
	})
	// Until the deadline: all four, ErrCallTimeout says the count was not reached.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	replies, err = tree.CallCollect(ctx2, authnReq("example.com"), rpc.UntilCount(10))
	if !errors.Is(err, rpc.ErrCallTimeout) || len(replies) != 4 {
		t.Fatalf("CallCollect until the deadline = %d replies, %v", len(replies), err)
	}
}

// A Kazoo-like peer written with raw amqp091 (not Warren) answers a Warren
// call the way kapi responders do: to "targeted" with the request's
// Server-ID as routing key, echoing its Msg-ID in the JSON body.
func TestRPC_KazooPeerAnswersWarrenCall(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	ch := rawChannel(t, b)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "authn.req.*", "callmgr", false, nil); err != nil {
		t.Fatal(err)
	}
	reqs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for d := range reqs {
			var req map[string]any
			if json.Unmarshal(d.Body, &req) != nil {
				continue
			}
			resp, _ := json.Marshal(map[string]any{"Event-Category": "directory", "Event-Name": "authn_resp",
				"Msg-ID": req["Msg-ID"], "App-Name": "kazoo", "App-Version": "4.3", "Auth-Password": "from-kazoo"})
			_ = ch.Publish("targeted", req["Server-ID"].(string), false, false, amqp.Publishing{ContentType: "application/json", Body: resp})
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := tree.Call(ctx, authnReq("example.com"))
	if err != nil || reply.Text("Auth-Password") != "from-kazoo" {
		t.Fatalf("Call = %v, %v", reply, err)
	}
}

// A request made with rabbitmq-c's command-line tools, Kamailio-style
// (Server-ID = a routing key on "targeted"), is answered by a Warren
// listener with the request's Msg-ID.
func TestRPC_AnswersAmqpToolsRequest(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	responder(t, tree, "authn", "tools-pass", 0)
	url := strings.TrimSuffix(b.URI(), "/")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	consume := exec.CommandContext(ctx, "amqp-consume", "--url", url, "-e", "targeted", "-r", "kamailio@test-<1>-targeted-0", "-c", "1", "cat")
	var out strings.Builder
	consume.Stdout = &out
	if err := consume.Start(); err != nil {
		t.Fatalf("amqp-consume: %v (run .ci/install-deps)", err)
	}
	testkit.Poll(t, 30*time.Second, "amqp-consume bound", func() bool {
		return strings.Contains(b.Ctl(t, "list_bindings", "source_name", "routing_key"), "kamailio@test-<1>-targeted-0")
	})
	body := `{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"kamailio-1","Server-ID":"kamailio@test-<1>-targeted-0",` +
		`"App-Name":"kamailio","App-Version":"5.5","Auth-Realm":"example.com"}`
	if o, err := exec.Command("amqp-publish", "--url", url, "-e", "callmgr", "-r", "authn.req.example%2Ecom", "-C", "application/json", "-b", body).CombinedOutput(); err != nil {
		t.Fatalf("amqp-publish: %v: %s", err, o)
	}
	if err := consume.Wait(); err != nil {
		t.Fatalf("amqp-consume: %v", err)
	}
	reply, err := kazoo.Parse([]byte(strings.TrimSpace(out.String())))
	if err != nil {
		t.Fatalf("reply %q: %v", out.String(), err)
	}
	if reply.MsgID() != "kamailio-1" || reply.Text("Auth-Password") != "tools-pass" || reply.Name() != "authn_resp" {
		t.Fatalf("reply = %v", reply)
	}
}

// Cast publishes a prepared envelope (Msg-ID, App-Name, App-Version) without
// waiting for a reply.
func TestRPC_CastPublishesAPreparedEnvelope(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	got := make(chan kazoo.Envelope, 1)
	spawnListener(t, tree, listener.Spec{Name: "cast-sink", Queue: listener.QueueSpec{Name: "cast-sink", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "authn.req.*"}},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error { got <- d.Envelope; return nil }}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tree.Cast(ctx, authnReq("example.com"), publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	e := recv(t, got, 5*time.Second, "the cast")
	if len(e.MsgID()) != 32 || e.Text("App-Name") != "warren-test" || e.Name() != "authn_req" {
		t.Fatalf("cast = %v", e)
	}
}

// On the shared node: a call to a key no queue binds fails in under a
// second, naming the exchange and key (published mandatory, the
// basic.return matched to the call); then Kazoo's VFun and Defer-Response
// with two real responders: a negative reply is counted, below the
// threshold, and the valid deferred one is returned at the deadline.
func TestRPC_UnroutableFailsFastAndKazooRules(t *testing.T) {
	b := SharedBroker(t)
	tree := rpcTree(t, b)
	key := "warren-test." + t.Name()
	req := func(k string) rpc.Request {
		return rpc.Request{Exchange: "callmgr", RoutingKey: k, Envelope: kazoo.Envelope{"Event-Category": "test", "Event-Name": "req"},
			Defaults: kazoo.Defaults{AppName: "warren-test", AppVersion: "1"}}
	}

	start := time.Now()
	_, err := tree.Call(within(t, 10*time.Second), req(key+".unbound"))
	took := time.Since(start)
	if !errors.Is(err, rpc.ErrUnroutable) || !strings.Contains(err.Error(), fmt.Sprintf("exchange %q with routing key %q", "callmgr", key+".unbound")) {
		t.Fatalf("Call to an unbound key = %v; want ErrUnroutable naming exchange and key", err)
	}
	if took > time.Second {
		t.Fatalf("the unroutable call failed after %v, want under a second", took)
	}

	for name, fields := range map[string]map[string]any{
		"negative":  {"Result": "nack"},
		"deferring": {"Result": "ok", "Defer-Response": true},
	} {
		spawnListener(t, tree, listener.Spec{Name: t.Name() + "-" + name, Queue: listener.QueueSpec{Name: t.Name() + "-" + name, AutoDelete: true},
			Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: key}},
			Defaults: kazoo.Defaults{AppName: name, AppVersion: "1"},
			Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
				reply := map[string]any{"Event-Category": "test", "Event-Name": "resp", "By": name}
				for k, v := range fields {
					reply[k] = v
				}
				return d.Reply(ctx, reply)
			}}}})
	}
	r := req(key)
	r.Validate = func(e kazoo.Envelope) bool { return e.Text("Result") == "ok" }
	start = time.Now()
	reply, err := tree.Call(within(t, time.Second), r)
	if err != nil || reply.Text("By") != "deferring" {
		t.Fatalf("Call = %v, %v; want the deferred valid reply, the negative one counted", reply, err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("answered after %v: the deferred reply was not held until the deadline", took)
	}
}
