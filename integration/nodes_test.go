package integration

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
)

// runNode starts `warren run` as node name with a 2 s advertise period and
// returns its admin address and the process.
func runNode(t *testing.T, bin, uri, name string) (string, *exec.Cmd) {
	t.Helper()
	ini := filepath.Join(t.TempDir(), "config.ini")
	body := "[zone]\nname = local\namqp_uri = \"" + uri + "\"\n[warren]\nnode = " + name + "\nadvertise_period = 2s\n"
	if err := os.WriteFile(ini, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", ini, "--admin", "127.0.0.1:0")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "observer: "); ok && len(addr) == 0 {
				if p, err := url.Parse(strings.Fields(u)[0]); err == nil {
					addr <- p.Host
				}
			}
		}
	}()
	return testkit.Recv(t, addr, 30*time.Second, name+"'s admin address"), cmd
}

// nodesListenerConsumes reports whether the nodes listener of the node at
// admin consumes (`warren listeners --json`).
func nodesListenerConsumes(t *testing.T, bin, admin string) bool {
	t.Helper()
	out, err := exec.Command(bin, "listeners", "--admin", admin, "--json").Output()
	if err != nil {
		t.Fatalf("warren listeners --admin %s: %v\n%s", admin, err, out)
	}
	var rows []struct{ Path, State string }
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("warren listeners --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.Path == "warren/nodes/nodes_listener" && r.State == string(registry.ListenerConsuming) {
			return true
		}
	}
	return false
}

// nodesOf runs `warren nodes --json` against admin.
func nodesOf(t *testing.T, bin, admin string) map[string]registry.Node {
	t.Helper()
	out, err := exec.Command(bin, "nodes", "--admin", admin, "--json").Output()
	if err != nil {
		t.Fatalf("warren nodes --admin %s: %v\n%s", admin, err, out)
	}
	var rows []registry.Node
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("warren nodes --json: %v\n%s", err, out)
	}
	m := map[string]registry.Node{}
	for _, r := range rows {
		m[r.Name] = r
	}
	return m
}

// Two `warren run` processes on one broker list each other in `warren
// nodes` within one advertise period, and one forgets the other after its
// expiry once it stops.
func TestNodes_TwoWarrenProcessesSeeEachOtherAndForgetAStoppedOne(t *testing.T) {
	const period = 2 * time.Second
	b := StartBroker(t)
	bin := warrenCLI(t)
	adminA, _ := runNode(t, bin, b.URI(), "warren_a@test")
	testkit.Poll(t, 30*time.Second, "a lists itself", func() bool { _, ok := nodesOf(t, bin, adminA)["warren_a@test"]; return ok })
	adminB, procB := runNode(t, bin, b.URI(), "warren_b@test")
	testkit.Poll(t, 30*time.Second, "b's nodes listener consumes", func() bool { return nodesListenerConsumes(t, bin, adminB) })
	// From here on B consumes the advertisements and has sent its first
	// (kz_nodes starts its heartbeats once its queue exists): each must
	// list the other within one period, plus the time the polling of two
	// CLI processes takes.
	start := time.Now()
	testkit.Poll(t, period+time.Second, "a and b list each other", func() bool {
		_, aSeesB := nodesOf(t, bin, adminA)["warren_b@test"]
		_, bSeesA := nodesOf(t, bin, adminB)["warren_a@test"]
		return aSeesB && bSeesA
	})
	t.Logf("a and b saw each other %v after b's nodes listener consumed (period %v)", time.Since(start).Round(time.Millisecond), period)
	seen := nodesOf(t, bin, adminA)["warren_b@test"]
	if seen.Kind != registry.NodeWarren || seen.Zone != "local" || seen.Self || len(seen.Apps) == 0 {
		t.Fatalf("a's row of b: %+v", seen)
	}
	out, err := exec.Command(bin, "nodes", "--admin", adminA).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warren_b@test") || !strings.Contains(string(out), "EXPIRES") {
		t.Fatalf("warren nodes: %v\n%s", err, out)
	}
	if u, _ := url.Parse(b.URI()); u != nil {
		if pw, ok := u.User.Password(); ok && strings.Contains(string(out), pw) {
			t.Fatalf("warren nodes shows the broker's password:\n%s", out)
		}
	}

	lastExpiry := nodesOf(t, bin, adminA)["warren_b@test"].Expires // an advertisement heard later only pushes it back
	if err := procB.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	expiry := time.Duration(float64(period) * 1.25)
	testkit.Poll(t, expiry+period, "a forgets b", func() bool { _, ok := nodesOf(t, bin, adminA)["warren_b@test"]; return !ok })
	t.Logf("a forgot b %v after b was stopped (expiry %v)", time.Since(stopped).Round(time.Millisecond), expiry)
	if now := time.Now(); now.Before(lastExpiry) {
		t.Fatalf("a forgot b at %v, before its expiry %v", now, lastExpiry)
	}
	if _, ok := nodesOf(t, bin, adminA)["warren_a@test"]; !ok {
		t.Fatal("a forgot itself")
	}
}

// A Kazoo node's advertisement, as kz_nodes publishes it (the recorded
// payload of actors/nodes/testdata), sent by rabbitmq-c's amqp-publish on a
// real node, shows up in `warren nodes` as a Kazoo node of its zone.
func TestNodes_RecordedKazooAdvertiseShowsInWarrenNodes(t *testing.T) {
	if _, err := exec.LookPath("amqp-publish"); err != nil {
		t.Fatal("amqp-publish missing: run .ci/install-deps (apt-get install amqp-tools)")
	}
	body, err := os.ReadFile("../actors/nodes/testdata/kazoo_advertise.json")
	if err != nil {
		t.Fatal(err)
	}
	b := StartBroker(t)
	bin := warrenCLI(t)
	admin, _ := runNode(t, bin, b.URI(), "warren_k@test")
	testkit.Poll(t, 30*time.Second, "the nodes listener consumes", func() bool { return nodesListenerConsumes(t, bin, admin) })
	// rabbitmq-c reads a trailing "/" as the empty vhost: give it none.
	out, err := exec.Command("amqp-publish", "--url", strings.TrimSuffix(b.URI(), "/"), "-e", kazoo.ExchangeNodes,
		"-C", "application/json", "-b", string(body)).CombinedOutput()
	if err != nil {
		t.Fatalf("amqp-publish: %v: %s", err, out)
	}
	const name = "kazoo_apps@kz1.example.com"
	testkit.Poll(t, 10*time.Second, "warren nodes lists the Kazoo node", func() bool { _, ok := nodesOf(t, bin, admin)[name]; return ok })
	row := nodesOf(t, bin, admin)[name]
	if row.Kind != registry.NodeKazoo || row.Zone != "east" || row.Version != "4.3.142 - 19" ||
		strings.Join(row.Apps, ",") != "blackhole,callflow,crossbar,ecallmgr" || row.Self {
		t.Fatalf("warren nodes --json, the recorded Kazoo node: %+v", row)
	}
	if life := row.Expires.Sub(row.Heard); life != 15431250*time.Microsecond { // Expires 12345 ms × 1.25, as kz_nodes
		t.Fatalf("the Kazoo node expires %v after it was heard; want 15.43125s", life)
	}
	text, err := exec.Command(bin, "nodes", "--admin", admin).CombinedOutput()
	if err != nil || !regexp.MustCompile(name+`\s+east\s+kazoo\s`).Match(text) {
		t.Fatalf("warren nodes: %v\n%s\nwant a line naming %s, zone east, kind kazoo", err, text, name)
	}
}
