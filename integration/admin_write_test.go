package integration

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// The admin API's writes on real nodes (issue 21): refused without the
// token and from a foreign Host by `warren run`; a broker added, drained
// and removed with the `warren` binary while a listener consumes and
// publishers publish, nothing lost.

// runWarrenNode starts the warren binary's `run` against uri with its token
// files in dir and returns the admin API's address, read from the
// "observer: http://ADDR/ui" line it prints; it is stopped with SIGTERM
// when the test ends (stop returns its exit error).
func runWarrenNode(t *testing.T, uri, dir string) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, warrenCLI(t), "run", "--admin", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), supervisor.EnvURI+"="+uri, supervisor.EnvAdminTokenDir+"="+dir, "WARREN_ADMIN_TOKEN=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "observer: http://"); ok {
				lines <- strings.TrimSuffix(a, "/ui")
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	var exitErr error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			exitErr = cmd.Wait()
			cancel()
		}
		return exitErr
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case addr = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("warren run printed no observer address within 30s:\n%s", stderr.String())
	}
	return addr, stop
}

// adminRequest sends method path to addr with auth and host ("" for none)
// and returns the status and the body.
func adminRequest(t *testing.T, addr, method, path, host, auth, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(within(t, 10*time.Second), method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// warrenCmd runs the warren binary with args and extra environment and
// returns its exit code, stdout and stderr.
func warrenCmd(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, warrenCLI(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("warren %s: %v", strings.Join(args, " "), err)
	}
	return code, stdout.String(), stderr.String()
}

func TestAdminWrites_WarrenRunRefusesWithoutTheTokenAndFromAForeignHost(t *testing.T) {
	b := StartBroker(t)
	dir := filepath.Join(t.TempDir(), "tokens")
	t.Setenv(supervisor.EnvAdminTokenDir, dir) // for AdminTokenFile here, and the binaries
	addr, stop := runWarrenNode(t, b.URI(), dir)
	file := supervisor.AdminTokenFile(addr)
	if filepath.Dir(file) != dir {
		t.Fatalf("token file %s: not in %s", file, dir)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %s: %v, mode %v: want 0600", file, err, fi.Mode().Perm())
	}
	token, err := supervisor.ReadAdminToken(file)
	if err != nil {
		t.Fatal(err)
	}
	id := brokerID(t, b)
	testkit.Poll(t, 30*time.Second, "warren run connected to "+b.Name, func() bool {
		return ctlCount(t, b, "guest", "list_connections", "user") >= 1
	})
	conns := ctlCount(t, b, "guest", "list_connections", "user")

	for _, auth := range []string{"", "Bearer wrong-token-0123456789"} {
		res, body := adminRequest(t, addr, http.MethodPost, "/brokers/"+id+"/drain", "", auth, "")
		if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("drain with Authorization %q = %d %s, want 401 with a Bearer challenge", auth, res.StatusCode, body)
		}
	}
	res, body := adminRequest(t, addr, http.MethodDelete, "/brokers/"+id, "attacker.example", "Bearer "+token, "")
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("DELETE from Host attacker.example = %d %s, want 421", res.StatusCode, body)
	}
	code, out, errOut := warrenCmd(t, []string{"WARREN_ADMIN_TOKEN=wrong-token-0123456789"}, "brokers", "remove", id, "--admin", addr)
	if code != 1 || !strings.Contains(errOut, "no or wrong admin token") {
		t.Errorf("warren brokers remove with a wrong token = %d\n%s%s: want exit 1 saying so", code, out, errOut)
	}
	if strings.Contains(out+errOut, token) {
		t.Errorf("the CLI printed the token")
	}
	// Nothing changed on the broker: the refused writes closed nothing.
	if res, body := adminRequest(t, addr, http.MethodGet, "/brokers", "", "", ""); res.StatusCode != http.StatusOK || !strings.Contains(body, id) {
		t.Errorf("GET /brokers (open) = %d %s, want 200 listing %s", res.StatusCode, body, id)
	}
	if n := ctlCount(t, b, "guest", "list_connections", "user"); n != conns {
		t.Errorf("rabbitmqctl list_connections: %d connections after the refused writes, want %d as before", n, conns)
	}
	if err := stop(); err != nil {
		t.Errorf("warren run after SIGTERM: %v", err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("token file after warren run stopped: %v, want it removed", err)
	}
}

const (
	cliExchange = "warren-admin-cli"
	cliQueue    = "admin-cli-q"
	cliRate     = 100 // confirmed tree.Publish calls a second
)

// A two-node cluster; the tree starts with node 1 only, a listener on a
// durable queue and publishers at cliRate confirmed publishes a second.
// With the warren binary, through the tree's admin API: node 2 is added,
// node 1 drained (the listener and the publishers move to node 2) and
// undrained, node 2 drained (they move back) and removed. Every confirmed
// publish is consumed exactly once, no publish fails, and rabbitmqctl
// shows node 2's connections come and go.
func TestFault_BrokerAddedDrainedRemovedFromTheCLI(t *testing.T) {
	nodes := StartCluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	id1, id2 := brokerID(t, n1), brokerID(t, n2)
	t.Setenv(supervisor.EnvAdminTokenDir, filepath.Join(t.TempDir(), "tokens"))
	l := newLedger(t, "broker added, drained, removed from the CLI")
	base := goroutineBaseline()
	cfg := oneZone(n1.URI())
	cfg.Connection.Heartbeat = time.Second
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: time.Second}
	cfg.RPC.Workers = -1
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 30*time.Second)
	waitPublishersReady(t, tree, 20*time.Second)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "admin-cli",
		Queue:    listener.QueueSpec{Name: cliQueue, Durable: true},
		Bindings: []listener.Binding{{Exchange: cliExchange, RoutingKey: "#", Declare: true, Kind: "topic", Durable: true}},
		Handlers: []listener.Route{l.handler()}})
	addr, err := tree.ServeAdmin(within(t, 10*time.Minute), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := addr.String()

	errs := &errorGroups{}
	stop := rateLoad(l, tree, cliExchange, cliRate, 2*time.Second, 3*time.Minute, errs)
	t.Cleanup(stop)
	confirmedMore(t, l, cliRate, 20*time.Second, "confirmed publishes flowing")

	port2 := n2.Addr()[strings.LastIndex(n2.Addr(), ":")+1:]
	onNode2 := func() int { // connections to node 2's AMQP port, as the cluster lists them
		n := 0
		for _, line := range strings.Split(n1.Ctl(t, "list_connections", "port", "--quiet", "--no-table-headers"), "\n") {
			if strings.TrimSpace(line) == port2 {
				n++
			}
		}
		return n
	}
	if n := onNode2(); n != 0 {
		t.Fatalf("%d connections on node 2 before it was added", n)
	}
	step := func(env []string, args ...string) string {
		t.Helper()
		began := time.Now()
		code, out, errOut := warrenCmd(t, env, append(args, "--admin", admin)...)
		if code != 0 {
			t.Fatalf("warren %s = %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		t.Logf("warren %s (%v): %s", strings.Join(args, " "), time.Since(began).Round(time.Millisecond), strings.TrimSpace(out))
		return out
	}
	listenerOn := func(id string) func() bool {
		return func() bool {
			row, _ := tree.Registry().Listener(pid.Id)
			return row.Broker == id && row.State == registry.ListenerConsuming
		}
	}

	if out := step([]string{supervisor.EnvURI + "=" + n2.URI()}, "brokers", "add", "--zone", "local"); !strings.Contains(out, "broker "+id2+" added") {
		t.Fatalf("brokers add printed %q", out)
	}
	testkit.Poll(t, 30*time.Second, "Warren's connections on node 2 (rabbitmqctl list_connections)", func() bool { return onNode2() >= 1 })
	waitConn(t, tree, id2, 30*time.Second, "node 2 available", func(c registry.Connection) bool { return c.Available })

	step(nil, "drain", id1, "--timeout", "20s")
	treetest.Eventually(t, tree, 20*time.Second, "the listener consuming on node 2", listenerOn(id2))
	confirmedMore(t, l, cliRate, 20*time.Second, "confirmed publishes with node 1 drained")
	if out := step(nil, "brokers"); !strings.Contains(out, "DRAINING") {
		t.Errorf("warren brokers printed no table:\n%s", out)
	}
	step(nil, "undrain", id1)
	step(nil, "drain", id2, "--timeout", "20s")
	treetest.Eventually(t, tree, 20*time.Second, "the listener consuming on node 1 again", listenerOn(id1))
	confirmedMore(t, l, cliRate, 20*time.Second, "confirmed publishes with node 2 drained")
	step(nil, "brokers", "remove", id2)
	testkit.Poll(t, 30*time.Second, "no connection left on node 2 (rabbitmqctl list_connections)", func() bool { return onNode2() == 0 })
	confirmedMore(t, l, cliRate, 20*time.Second, "confirmed publishes after node 2 is removed")

	stop()
	l.settle(60 * time.Second)
	l.mu.Lock()
	dups := 0
	for _, n := range l.received {
		if n > 1 {
			dups++
		}
	}
	l.mu.Unlock()
	t.Logf("sent %d, confirmed %d, failed %d (%s), duplicates %d", l.sentCount(), l.confirmedCount(), l.failedCount(), errs, dups)
	if n := l.failedCount(); n > 0 {
		t.Errorf("%d publishes failed while a broker was added, drained and removed: %s", n, errs)
	}
	if dups > 0 {
		t.Errorf("%d messages consumed more than once", dups)
	}
	testkit.Poll(t, 30*time.Second, cliQueue+" empty (rabbitmqctl list_queues)", func() bool {
		ready, unacked := queueDepth(t, n1, cliQueue)
		return ready == 0 && unacked == 0
	})
	shutdownClean(t, l, tree, base, 15*time.Second)
}
