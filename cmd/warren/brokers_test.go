package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// runningWarren is an in-process `warren run` for a test.
type runningWarren struct {
	tree   *supervisor.Tree
	addr   string
	stop   context.CancelFunc
	exited chan int
	stderr *string
}

// startRun runs `warren run args… --admin 127.0.0.1:0` until wait is
// called (or the test ends), with its token files in a directory of the
// test.
func startRun(t *testing.T, env map[string]string, args ...string) *runningWarren {
	t.Helper()
	clearWarrenEnv(t)
	t.Setenv(supervisor.EnvAdminTokenDir, filepath.Join(t.TempDir(), "tokens"))
	ctx, stop := context.WithCancel(context.Background())
	type started struct {
		tree *supervisor.Tree
		addr net.Addr
	}
	running := make(chan started, 1)
	r := &runningWarren{stop: stop, exited: make(chan int, 1), stderr: new(string)}
	go func() {
		code, _, errOut := cli{env: env, started: func(t *supervisor.Tree, a net.Addr) { running <- started{t, a} }}.run(t, ctx,
			append(append([]string{"run"}, args...), "--admin", "127.0.0.1:0", "--log-level", "debug")...)
		*r.stderr = errOut
		r.exited <- code
	}()
	select {
	case s := <-running:
		r.tree, r.addr = s.tree, s.addr.String()
	case code := <-r.exited:
		t.Fatalf("warren run exited with %d before serving the admin API:\n%s", code, *r.stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("warren run did not serve the admin API within 10s")
	}
	t.Cleanup(func() { r.wait(t) })
	return r
}

// wait stops the run and returns its log, failing the test on a non-zero
// exit.
func (r *runningWarren) wait(t *testing.T) string {
	t.Helper()
	r.stop()
	select {
	case code, ok := <-r.exited:
		if ok && code != exitOK {
			t.Errorf("warren run exited with %d:\n%s", code, *r.stderr)
		}
		if ok {
			close(r.exited)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("warren run did not stop within 15s")
	}
	return *r.stderr
}

func TestBrokersCLI_AddListDrainUndrainRemove(t *testing.T) {
	a := treetest.NullBroker(t, nullbroker.Config{Password: "pw-a-0123"})
	b := treetest.NullBroker(t, nullbroker.Config{Password: "s3cret-b"})
	r := startRun(t, nil, "--url", a.URL())
	treetest.WaitReady(t, r.tree, 10*time.Second)
	token, err := supervisor.ReadAdminToken(supervisor.AdminTokenFile(r.addr))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{supervisor.EnvURI: b.URL()}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"brokers", "add", "--zone", "local", "--tag", "media"}, "broker " + b.Addr() + " added to zone local (amqp://guest:xxxxx@" + b.Addr() + "/)"},
		{[]string{"drain", b.Addr(), "--timeout", "5s"}, "broker " + b.Addr() + " drained in"},
		{[]string{"brokers"}, "DRAINING"},
		{[]string{"undrain", b.Addr()}, "broker " + b.Addr() + " undrained"},
		{[]string{"brokers", "remove", b.Addr()}, "broker " + b.Addr() + " removed"},
	}
	for _, s := range steps {
		code, out, errOut := cli{env: env}.run(t, context.Background(), append(s.args, "--admin", r.addr)...)
		if code != exitOK || !strings.Contains(out, s.want) {
			t.Fatalf("warren %s = %d\n%s%s\nwant it to say %q", strings.Join(s.args, " "), code, out, errOut, s.want)
		}
		mustNotContain(t, "warren "+s.args[0], out+errOut, "s3cret-b", token)
	}
	code, out, errOut := warren(t, "brokers", "remove", b.Addr(), "--admin", r.addr)
	if code != exitError || !strings.Contains(errOut, "404 Not Found: no broker") {
		t.Errorf("warren brokers remove of a removed broker = %d\n%s%s: want exit 1 with the server's reason", code, out, errOut)
	}
	code, _, errOut = warren(t, "drain", a.Addr(), "--admin", r.addr)
	if code != exitError || !strings.Contains(errOut, "409 Conflict") || !strings.Contains(errOut, "no other broker of the zone is up") {
		t.Errorf("warren drain of the zone's last broker = %d\n%s: want exit 1, 409 and why", code, errOut)
	}
	log := r.wait(t)
	mustNotContain(t, "warren run's log", log, token, "s3cret-b", "pw-a-0123")
	if _, err := os.Stat(supervisor.AdminTokenFile(r.addr)); !os.IsNotExist(err) {
		t.Errorf("token file after warren run stopped: %v, want it removed", err)
	}
}

func TestBrokersCLI_AWrongOrMissingTokenSaysWhereTheTokenComesFrom(t *testing.T) {
	a := treetest.NullBroker(t, nullbroker.Config{})
	const given = "given-token-for-the-test-0123456789"
	r := startRun(t, map[string]string{envAdminToken: given}, "--url", a.URL())
	treetest.WaitReady(t, r.tree, 10*time.Second) // its broker's row is there to undrain
	if got, err := supervisor.ReadAdminToken(supervisor.AdminTokenFile(r.addr)); err != nil || got != given {
		t.Fatalf("token file with $%s: %v, want the given token", envAdminToken, err)
	}
	const wrong = "wrong-token-0123456789abcdef"
	code, out, errOut := cli{env: map[string]string{envAdminToken: wrong}}.run(t, context.Background(), "undrain", a.Addr(), "--admin", r.addr)
	if code != exitError || !strings.Contains(errOut, "no or wrong admin token") || !strings.Contains(errOut, "$"+envAdminToken) {
		t.Errorf("undrain with a wrong token = %d\n%s%s: want exit 1 naming $%s", code, out, errOut, envAdminToken)
	}
	mustNotContain(t, "warren undrain", out+errOut, wrong, given)

	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(given+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := warren(t, "undrain", a.Addr(), "--admin", r.addr, "--admin-token-file", file); code != exitOK ||
		!strings.Contains(out, "undrained") {
		t.Errorf("undrain with --admin-token-file = %d\n%s%s", code, out, errOut)
	}
	// Another address has no token file: the error names the file to look for.
	other := closedPort(t)
	code, _, errOut = warren(t, "undrain", a.Addr(), "--admin", other)
	if code != exitError || !strings.Contains(errOut, supervisor.AdminTokenFile(other)) {
		t.Errorf("undrain without a token file = %d\n%s: want exit 1 naming %s", code, errOut, supervisor.AdminTokenFile(other))
	}
}

func TestBrokersAddCLI_TakesTheURIOutOfPs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "uri")
	if err := os.WriteFile(file, []byte("amqp://u:s3cret@h:5672/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader("amqp://u:from-stdin@h:5672/\n")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--uri-file", file}, "amqp://u:s3cret@h:5672/"},
		{[]string{"--uri-file", "-"}, "amqp://u:from-stdin@h:5672/"},
	} {
		cmd := newBrokersAddCmd(a)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		got, err := a.brokerURI(cmd, nil)
		if err != nil || got != tc.want {
			t.Errorf("brokerURI(%v) = %q, %v", tc.args, got, err)
		}
	}
	code, _, errOut := warren(t, "brokers", "add", "--zone", "z1", "--admin", closedPort(t))
	if code != exitUsage || !strings.Contains(errOut, "no broker URI") {
		t.Errorf("brokers add without a URI = %d\n%s", code, errOut)
	}
}

func TestListenersStopCLI_DrainsAndStopsAListener(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	r := startRun(t, nil, "--url", nb.URL())
	treetest.WaitReady(t, r.tree, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pid, err := r.tree.SpawnListener(ctx, listener.Spec{Name: "authn", Queue: listener.QueueSpec{Name: "authn-q", AutoDelete: true},
		Raw: func(context.Context, *listener.Delivery) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.tree.WaitConsuming(ctx, pid); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := warren(t, "listeners", "stop", "authn", "--admin", r.addr)
	if code != exitOK || !strings.Contains(out, "listener authn drained and stopped") {
		t.Fatalf("warren listeners stop authn = %d\n%s%s", code, out, errOut)
	}
	if _, ok := r.tree.Registry().Listener(pid.Id); ok {
		t.Errorf("listener authn still in the listeners table after its stop")
	}
	if code, _, errOut := warren(t, "listeners", "stop", "authn", "--admin", r.addr); code != exitError || !strings.Contains(errOut, `no listener "authn"`) {
		t.Errorf("a second stop = %d\n%s: want exit 1, no such listener", code, errOut)
	}
}
