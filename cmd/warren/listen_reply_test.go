package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// listenProc is a `warren listen` of the built command, running.
type listenProc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, a line each
	stderr *testkit.LogBuffer
}

// startListen runs the built warren listen args and waits for its ready
// line on stderr.
func startListen(t *testing.T, args ...string) *listenProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	p := &listenProc{lines: make(chan string, 16), stderr: &testkit.LogBuffer{}}
	p.cmd = exec.CommandContext(ctx, builtWarren(t), append([]string{"listen", "--wait", "10s"}, args...)...)
	p.cmd.Env = builtEnv()
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // the test is over: lines nobody reads are dropped
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			case <-done:
			}
		}
	}()
	t.Cleanup(func() { close(done); _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	testkit.Await(t, 30*time.Second, "warren listen's ready line", p.stderr.Changed, func() bool {
		return strings.Contains(p.stderr.String(), "warren: listening on queue")
	})
	return p
}

// line returns the next line listen printed.
func (p *listenProc) line(t *testing.T) string {
	t.Helper()
	l, ok := <-p.lines
	if !ok {
		t.Fatalf("warren listen ended early:\n%s", p.stderr.String())
	}
	return l
}

// waitConsumer waits until a queue bound to exchange on nb has a consumer.
func waitConsumer(t *testing.T, nb *nullbroker.Server, exchange string) {
	t.Helper()
	testkit.Await(t, 30*time.Second, "a queue bound to "+exchange+" consumed on "+nb.Addr(), nb.Changed, func() bool {
		bound := map[string]bool{}
		for _, b := range nb.Bindings() {
			if b.Source == exchange && b.DestinationKind == "queue" {
				bound[b.Destination] = true
			}
		}
		for _, q := range nb.Queues() {
			if bound[q.Name] && q.Consumers > 0 {
				return true
			}
		}
		return false
	})
}

const authnResp = `{"Event-Category":"directory","Event-Name":"authn_resp","Auth-Method":"password","Auth-Password":"pw-7"}`

// warren listen --federate --reply answers each request Kazoo's way, in
// the zone it came from: a Kazoo-style request of the remote zone on
// targeted/<Server-ID> there, a Warren peer's of the local zone on its
// direct reply-to; each line (--json) names the zone and the broker, the
// body a JSON object, and what was answered.
func TestListen_ReplyAnswersEachRequestInItsZoneAndSaysWhere(t *testing.T) {
	east := treetest.NullBroker(t, nullbroker.Config{})
	west := treetest.NullBroker(t, nullbroker.Config{})
	ini := writeConfig(t, "[zone]\nname = east\namqp_uri = "+east.URL()+"\n[zone]\nname = west\namqp_uri = "+west.URL()+"\n[warren]\nzone = east\n")
	p := startListen(t, "--config", ini, "--federate", "--exchange", "callmgr", "--key", "authn.req.*", "--json", "--count", "2",
		"--reply", authnResp)
	waitConsumer(t, west, "callmgr")

	// The remote zone: a Kazoo app asks with a Server-ID, its queue bound to targeted.
	wch := testkit.AMQPChannel(t, west.URL())
	if err := wch.ExchangeDeclare("targeted", "direct", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := wch.QueueDeclare("kazoo-app-q", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := wch.QueueBind("kazoo-app-q", "kazoo-app-q", "targeted", false, nil); err != nil {
		t.Fatal(err)
	}
	westReplies, err := wch.Consume("kazoo-app-q", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := `{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m-west","Server-ID":"kazoo-app-q","App-Name":"t","App-Version":"1","Auth-User":"bob"}`
	if err := wch.Publish("callmgr", "authn.req.x", false, false, amqp.Publishing{ContentType: "application/json", Body: []byte(req)}); err != nil {
		t.Fatal(err)
	}
	checkLine(t, p.line(t), "west", west.Addr(), "m-west", "targeted", "kazoo-app-q")
	checkReply(t, testkit.Recv(t, westReplies, 10*time.Second, "the reply on west's targeted"), "m-west")

	// The local zone: a Warren peer asks through direct reply-to.
	ech := testkit.AMQPChannel(t, east.URL())
	eastReplies, err := ech.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	req = `{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m-east","App-Name":"t","App-Version":"1","Auth-User":"amy"}`
	if err := ech.Publish("callmgr", "authn.req.y", false, false, amqp.Publishing{ContentType: "application/json", CorrelationId: "c-1",
		ReplyTo: "amq.rabbitmq.reply-to", Body: []byte(req)}); err != nil {
		t.Fatal(err)
	}
	checkLine(t, p.line(t), "east", east.Addr(), "m-east", "", "amq.rabbitmq.reply-to")
	d := testkit.Recv(t, eastReplies, 10*time.Second, "the reply on east's direct reply-to")
	if d.CorrelationId != "c-1" {
		t.Errorf("direct reply's correlation id %q, want c-1", d.CorrelationId)
	}
	checkReply(t, d, "m-east")
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("warren listen --count 2: %v\n%s", err, p.stderr.String())
	}
}

// checkLine checks one `listen --json` line: its zone and broker, the
// body an object, and the reply sent (routing key, echoed Msg-ID).
func checkLine(t *testing.T, line, zone, broker, msgID, exchange, key string) {
	t.Helper()
	var got struct {
		Zone, Broker string
		Body         map[string]any
		Reply        struct {
			Exchange   string
			RoutingKey string `json:"routing_key"`
			Body       map[string]any
			Error      string
		}
	}
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	if got.Zone != zone || got.Broker != broker || got.Body["Msg-ID"] != msgID {
		t.Errorf("line %s: want zone %s, broker %s, the body an object with Msg-ID %s", line, zone, broker, msgID)
	}
	r := got.Reply
	if r.Exchange != exchange || !strings.HasPrefix(r.RoutingKey, key) || r.Error != "" || r.Body["Msg-ID"] != msgID || r.Body["Auth-Password"] != "pw-7" {
		t.Errorf("line %s: want a reply to %q/%q… with Msg-ID %s", line, exchange, key, msgID)
	}
}

// checkReply checks a reply as the requester got it.
func checkReply(t *testing.T, d amqp.Delivery, msgID string) {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(d.Body, &env); err != nil {
		t.Fatalf("reply %q: %v", d.Body, err)
	}
	if env["Msg-ID"] != msgID || env["Event-Name"] != "authn_resp" || env["Auth-Password"] != "pw-7" || env["App-Name"] != "warren-listen" {
		t.Errorf("reply %s: want the authn_resp of --reply with Msg-ID %s", d.Body, msgID)
	}
}

// Without --json, each delivery line starts with its zone and broker;
// what --reply answered follows on a line of its own.
func TestListen_TextLinesSayZoneAndBroker(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	p := startListen(t, "--url", nb.URL(), "--exchange", "callmgr", "--key", "#", "--count", "2", "--reply", authnResp)
	ch := testkit.AMQPChannel(t, nb.URL())
	for _, body := range []string{`{"Event-Category":"x","Event-Name":"event"}`,
		`{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m-1","Server-ID":"nobody-q","App-Name":"t","App-Version":"1"}`} {
		if err := ch.Publish("callmgr", "a.b", false, false, amqp.Publishing{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	want := "local " + nb.Addr() + " callmgr a.b "
	if l := p.line(t); l != want+`{"Event-Category":"x","Event-Name":"event"}` {
		t.Errorf("an event: %q, want it after %q and no reply", l, want)
	}
	if l := p.line(t); !strings.HasPrefix(l, want) || !strings.Contains(l, "m-1") {
		t.Errorf("a request: %q, want it after %q", l, want)
	}
	// Nobody listens on targeted/nobody-q: the broker returns the reply.
	if l := p.line(t); !strings.HasPrefix(l, "  reply to targeted nobody-q failed: ") || !strings.Contains(l, "no queue bound") {
		t.Errorf("reply line %q: want the reply's failure, the broker's return", l)
	}
}

// --reply and --reply-file take one Kazoo reply object; a mistake is a
// usage error before any broker is dialled.
func TestListen_ReplyUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not JSON", []string{"--reply", "{nope"}, "--reply: "},
		{"not an object", []string{"--reply", "[1]"}, "--reply: "},
		{"no Event-Name", []string{"--reply", `{"Event-Category":"directory"}`}, "not a Kazoo reply"},
		{"both flags", []string{"--reply", authnResp, "--reply-file", "x.json"}, "give one of them"},
		{"a missing file", []string{"--reply-file", "/nonexistent/reply.json"}, "--reply-file: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := warren(t, append([]string{"listen", "--url", "amqp://127.0.0.1:1/", "--exchange", "x"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want a usage error saying %q", code, stderr, tc.want)
			}
		})
	}
}
