package integration

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Broker is one throw-away RabbitMQ node started by StartBroker. Its ports, name and directory
// stay the same across Kill, Stop and Start. A Broker is safe for concurrent use; methods taking a
// testing.TB must run on the test's goroutine.
type Broker struct {
	Name     string // Erlang node name, e.g. "warren-it-3f2a9c1d@localhost"
	Port     int    // AMQP port on 127.0.0.1
	TLSPort  int    // AMQPS port on 127.0.0.1; 0 without WithTLS
	DistPort int    // Erlang distribution port on 127.0.0.1
	Dir      string // config, data (mnesia/) and logs (log/, stdout.log); see node_files.go

	opts       brokerOptions
	install    rabbitInstall
	pluginsDir string // RABBITMQ_PLUGINS_DIR, "" for the release's

	// Lock order: lifecycle, then mu.
	lifecycle   sync.Mutex   // serializes start, Stop, Kill, Freeze, Thaw; guards provisioned
	provisioned bool         // users and vhosts of the options were added
	mu          sync.Mutex   // guards proc
	proc        *nodeProcess // the current run; nil before the first start and after Kill/Stop
}

// bootAttempts is how many fresh port sets StartBroker tries when another process grabs a port
// between the harness picking it and the node binding it.
const bootAttempts = 3

// StartBroker starts a fresh RabbitMQ node for the test and kills it in t.Cleanup. It fails the
// test if RabbitMQ is not installed (naming the fix) or does not boot (showing the node's log).
//
// Options: WithTLS, WithUser, WithVHost, WithConfig, WithPlugins, WithStartDeferred,
// WithBootTimeout.
func StartBroker(t testing.TB, opts ...BrokerOption) *Broker {
	t.Helper()
	inst, err := findRabbitMQ()
	if err != nil {
		t.Fatal(err)
	}
	o := defaultBrokerOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	b := &Broker{Name: newNodeName(), Dir: t.TempDir(), opts: o, install: inst}
	if err := b.layout(); err != nil {
		t.Fatalf("integration: prepare %s in %s: %v", b.Name, b.Dir, err)
	}
	if err := b.pickPorts(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.cleanup(t) }) // registered after t.TempDir: runs before its removal

	if o.deferred {
		t.Logf("integration: %s prepared on %s, not started (WithStartDeferred)", b.Name, b.Addr())
		return b
	}
	for attempt := 1; ; attempt++ {
		took, err := b.boot()
		if err == nil {
			t.Logf("integration: %s ready on %s in %v", b.Name, b.Addr(), took.Round(time.Millisecond))
			return b
		}
		clash := b.portClash()
		tail := b.LogTail(40)
		b.killFailedBoot()
		if !clash || attempt == bootAttempts {
			t.Fatalf("%v\n%s", err, tail)
		}
		t.Logf("integration: %s: a port was taken before the node bound it; retrying on new ports", b.Name)
		if err := b.pickPorts(); err != nil {
			t.Fatal(err)
		}
	}
}

// pickPorts chooses the node's ports and writes its configuration for them.
func (b *Broker) pickPorts() error {
	var err error
	if b.Port, err = b.opts.pickPort(); err != nil {
		return err
	}
	if b.DistPort, err = b.opts.pickPort(); err != nil {
		return err
	}
	b.TLSPort = 0
	if b.opts.tls != nil {
		if b.TLSPort, err = b.opts.pickPort(); err != nil {
			return err
		}
	}
	return b.writeConfig()
}

// URI is the AMQP URI of the node for guest on vhost "/".
func (b *Broker) URI() string { return b.URIWith("guest", "guest") }

// URIWith is the AMQP URI of the node for user and pass on vhost "/".
func (b *Broker) URIWith(user, pass string) string {
	return "amqp://" + url.UserPassword(user, pass).String() + "@" + b.Addr() + "/"
}

// VHostURI is the AMQP URI of the node for guest on vhost.
func (b *Broker) VHostURI(vhost string) string {
	return "amqp://guest:guest@" + b.Addr() + "/" + url.PathEscape(vhost)
}

// TLSURI is the AMQPS URI of the node for guest on vhost "/", with host localhost (the name in
// the server certificate of GenerateTLS). It panics if the node was started without WithTLS.
func (b *Broker) TLSURI() string {
	if b.TLSPort == 0 {
		panic("integration: TLSURI of " + b.Name + ", started without WithTLS")
	}
	return "amqps://guest:guest@localhost:" + strconv.Itoa(b.TLSPort) + "/"
}

// Addr is the node's AMQP address, "127.0.0.1:<Port>".
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)) }

// TLSAddr is the node's AMQPS address, "127.0.0.1:<TLSPort>"; "" without WithTLS.
func (b *Broker) TLSAddr() string {
	if b.TLSPort == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.TLSPort))
}

// Running reports whether the node's process is alive (it may still be booting, or frozen).
func (b *Broker) Running() bool {
	p := b.current()
	return p != nil && !p.hasExited()
}

// current returns the current run of the node, nil if none.
func (b *Broker) current() *nodeProcess {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.proc
}

func (b *Broker) setProc(p *nodeProcess) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.proc = p
}

// Start (re)starts the node on the same ports and data directory and waits until it accepts AMQP
// connections as guest/guest, within the boot timeout (so keep guest if you restart the node). It
// fails the test if the node is running already or does not boot, showing the node's log.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	took, err := b.boot()
	if err != nil {
		tail := b.LogTail(40)
		b.killFailedBoot()
		t.Fatalf("%v\n%s", err, tail)
	}
	t.Logf("integration: %s ready on %s in %v", b.Name, b.Addr(), took.Round(time.Millisecond))
}

// boot spawns the node, waits until it is ready and, on its first boot, adds users and vhosts.
func (b *Broker) boot() (time.Duration, error) {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	if b.Running() {
		return 0, fmt.Errorf("integration: start %s: already running", b.Name)
	}
	start := time.Now()
	p, err := spawnNode(b.install.server, b.nodeEnv(), b.Dir, b.path(stdoutFile), b.nodeLog())
	if err != nil {
		return 0, err
	}
	b.setProc(p)
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.bootTimeout)
	defer cancel()
	if err := b.waitReady(ctx, p); err != nil {
		return 0, fmt.Errorf("integration: %s did not become ready on %s within %v: %w",
			b.Name, b.Addr(), b.opts.bootTimeout, err)
	}
	if !b.provisioned {
		if err := b.provision(); err != nil {
			return 0, err
		}
		b.provisioned = true
	}
	return time.Since(start), nil
}

// provision adds the vhosts and users of the options; b.lifecycle held on entry.
func (b *Broker) provision() error {
	var cmds [][]string
	for _, v := range b.opts.vhosts {
		cmds = append(cmds,
			[]string{"add_vhost", v},
			[]string{"set_permissions", "-p", v, "guest", ".*", ".*", ".*"})
	}
	for _, u := range b.opts.users {
		cmds = append(cmds,
			[]string{"add_user", u.user, u.pass},
			[]string{"set_permissions", "-p", "/", u.user, ".*", ".*", ".*"})
		for _, v := range b.opts.vhosts {
			cmds = append(cmds, []string{"set_permissions", "-p", v, u.user, ".*", ".*", ".*"})
		}
	}
	for _, c := range cmds {
		if _, err := b.CtlErr(c...); err != nil {
			return err
		}
	}
	return nil
}

// portClash reports whether the node's logs say a port was in use.
func (b *Broker) portClash() bool {
	return strings.Contains(b.LogTail(200), "eaddrinuse")
}

// cleanup kills the node at the end of the test and shows its log if the test failed.
func (b *Broker) cleanup(t testing.TB) {
	if t.Failed() {
		t.Logf("integration: %s at the end of the failed test:\n%s", b.Name, b.LogTail(30))
	}
	if err := b.kill(); err != nil {
		t.Errorf("integration: cleanup: %v", err)
	}
}
