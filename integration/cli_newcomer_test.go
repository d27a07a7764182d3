package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// A newcomer's first hour with the built `warren` binary against a real
// broker: each test holds one of the problems a first try ran into (the
// README's example and SpawnListener's wait are Example_readme; queues
// left behind is TestCLI_CommandsLeaveNoQueueBehind; listen's bodies and
// refusals TestCLI_ListenPassiveReadyAndEveryBody; the live demo
// TestCLI_DemoSnapshotThenLive; Ctrl-C TestCLI_PublishInterruptedExits130).

// runCLI runs the binary with args and returns its combined output, its
// exit code and how long it took (a minute at most).
func runCLI(t *testing.T, args ...string) (string, int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, warrenCLI(t), args...).CombinedOutput()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("warren %v: %v", args, err)
	}
	return string(out), code, time.Since(start)
}

func wantCLI(t *testing.T, out string, code, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("exit %d, want %d:\n%s", code, wantCode, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

// Problem 4: nothing is lost without a word. A payload that claims to be
// JSON and is not, a publish to a missing exchange without --confirm and
// --mandatory without --confirm are errors; --raw sends bytes as they are.
func TestCLI_PublishRefusesWhatWouldBeLost(t *testing.T) {
	b := StartBroker(t)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("newcomer-q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	out, code, _ := runCLI(t, "publish", "--url", b.URI(), "--exchange", "", "--key", "newcomer-q", `{"Event-Category": "x",`)
	wantCLI(t, out, code, 2, "not valid JSON", "--raw")
	out, code, _ = runCLI(t, "publish", "--url", b.URI(), "--exchange", "no-such-x", "--key", "k", `{}`)
	wantCLI(t, out, code, 1, "NOT_FOUND", "no-such-x", "1 message failed")
	out, code, _ = runCLI(t, "publish", "--url", b.URI(), "--exchange", "", "--key", "newcomer-q", "--mandatory", `{}`)
	wantCLI(t, out, code, 2, "--mandatory needs --confirm")
	out, code, _ = runCLI(t, "publish", "--url", b.URI(), "--exchange", "", "--key", "newcomer-q", "--raw", "--confirm", `not json`)
	wantCLI(t, out, code, 0, "published and confirmed 1 of 1 message in ")
	if strings.Contains(out, " in 0s") {
		t.Fatalf("says it took 0s: %s", out)
	}
	if d, ok, err := ch.Get("newcomer-q", true); err != nil || !ok || string(d.Body) != "not json" {
		t.Fatalf("queue holds %q (%v %v), want the raw body", d.Body, ok, err)
	}
}

// Problem 5: a call to a missing exchange fails at once with the broker's
// reason, not after its whole timeout.
func TestCLI_CallToAMissingExchangeFailsAtOnce(t *testing.T) {
	b := StartBroker(t)
	out, code, took := runCLI(t, "call", "--url", b.URI(), "--exchange", "no-such-x", "--key", "k", "--timeout", "20s",
		`{"Event-Category":"directory","Event-Name":"authn_req"}`)
	wantCLI(t, out, code, 1, "NOT_FOUND", "no-such-x")
	if took > 10*time.Second {
		t.Fatalf("took %v of its 20s timeout", took)
	}
}

// Problem 7: a client command waits --wait for a broker and ends with the
// broker's own error, never its password.
func TestCLI_WaitEndsWithTheBrokersOwnError(t *testing.T) {
	b := StartBroker(t)
	out, code, took := runCLI(t, "publish", "--url", b.URIWith("guest", "wrong-s3cret"), "--wait", "8s", "--exchange", "kapps", "--key", "k", `{}`)
	wantCLI(t, out, code, 1, "not ready", "username or password not allowed")
	if strings.Contains(out, "wrong-s3cret") || took > 20*time.Second {
		t.Fatalf("took %v; output shows the password or waited too long:\n%s", took, out)
	}
	closed := freeTCPAddr(t)
	out, code, took = runCLI(t, "publish", "--url", "amqp://guest:guest@"+closed+"/", "--wait", "1s", "--exchange", "kapps", "--key", "k", `{}`)
	wantCLI(t, out, code, 1, "connection refused")
	if took > 10*time.Second {
		t.Fatalf("--wait 1s took %v", took)
	}
	out, code, took = runCLI(t, "publish", "--url", "amqp://guest:guest@127.0.0.1:99999/", "--exchange", "kapps", "--key", "k", `{}`)
	wantCLI(t, out, code, 1, "invalid port (1-65535)")
	if took > 5*time.Second {
		t.Fatalf("a bad port took %v", took)
	}
}

// Problem 8: the CLI sees an embedding service's listeners through the
// admin API it serves (ServeAdmin), with their rejected counts, and status
// shows the local zone's primary broker.
func TestCLI_ListingsSeeAnEmbeddingServicesListeners(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	addr, err := tree.ServeAdmin(within(t, time.Minute), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "svc-authn", Queue: listener.QueueSpec{Name: "svc-authn-q", AutoDelete: true},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	if err := tree.WaitConsuming(within(t, 20*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	publishJSON(t, rawChannel(t, b), "", "svc-authn-q", `{"broken":`)
	waitListener(t, tree, pid.Id, 10*time.Second, "rejected", func(l registry.Listener) bool { return l.Rejected == 1 })

	out, code, _ := runCLI(t, "listeners", "--admin", addr.String())
	wantCLI(t, out, code, 0, "REJECTED", "svc-authn", "svc-authn-q", "consuming")
	if row := lineWith(out, "svc-authn"); !strings.Contains(row, " 1 ") {
		t.Fatalf("the listener's row does not show the rejected message: %q", row)
	}
	out, code, _ = runCLI(t, "listeners", "svc-authn", "--admin", addr.String(), "--json")
	wantCLI(t, out, code, 0, `"name": "svc-authn"`, `"rejected": 1`)
	out, code, _ = runCLI(t, "status", "--admin", addr.String())
	wantCLI(t, out, code, 0, "ready", "PRIMARY", brokerID(t, b))
}

// Problem 9: version, help with examples for every command, completion
// listed.
func TestCLI_VersionHelpAndExamples(t *testing.T) {
	out, code, _ := runCLI(t, "--version")
	wantCLI(t, out, code, 0, "warren ")
	out, code, _ = runCLI(t, "version")
	wantCLI(t, out, code, 0, "github.com/rabbitmq/amqp091-go", "go1.")
	out, code, _ = runCLI(t, "--help")
	wantCLI(t, out, code, 0, "completion", "status", "publishers")
	for _, c := range []string{"run", "status", "tree", "connections", "channels", "listeners", "publishers", "workers",
		"listen", "publish", "call", "demo"} {
		out, code, _ := runCLI(t, c, "--help")
		wantCLI(t, out, code, 0, "Examples:", "warren "+c)
	}
}

// Problem 10: several zones and none chosen suggests --zone; plurals.
func TestCLI_SeveralZonesAskForOne(t *testing.T) {
	b1, b2 := StartBroker(t), StartBroker(t)
	ini := filepath.Join(t.TempDir(), "config.ini")
	body := "[zone]\nname = east\namqp_uri = " + b1.URI() + "\n[zone]\nname = west\namqp_uri = " + b2.URI() + "\n"
	if err := os.WriteFile(ini, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code, _ := runCLI(t, "publish", "--config", ini, "--exchange", "kapps", "--key", "k", "--wait", "5s", `{}`)
	wantCLI(t, out, code, 1, "--zone")
	out, code, _ = runCLI(t, "publish", "--config", ini, "--zone", "west", "--exchange", "kapps", "--key", "k", "--confirm", `{}`)
	wantCLI(t, out, code, 0, "published and confirmed 1 of 1 message in")
}

// freeTCPAddr is a local address nothing listens on.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
