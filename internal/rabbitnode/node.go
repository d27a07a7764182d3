package rabbitnode

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Node is one throw-away RabbitMQ node. Its ports, name and directory stay the same across Kill,
// Stop and Start. A Node is safe for concurrent use by multiple goroutines.
type Node struct {
	Name     string // Erlang node name, e.g. "warren-it-3f2a9c1d@localhost"
	Port     int    // AMQP port on 127.0.0.1
	TLSPort  int    // AMQPS port on 127.0.0.1; 0 without WithTLS
	DistPort int    // Erlang distribution port on 127.0.0.1
	Dir      string // config, data (mnesia/) and logs (log/, stdout.log); see files.go

	opts       options
	install    rabbitInstall
	pluginsDir string // RABBITMQ_PLUGINS_DIR, "" for the release's

	// Lock order: lifecycle, then mu.
	lifecycle   sync.Mutex   // serializes boot, Stop, Kill, Freeze, Thaw; guards provisioned
	provisioned bool         // users and vhosts of the options were added
	mu          sync.Mutex   // guards proc
	proc        *nodeProcess // the current run; nil before the first start and after Kill/Stop
}

// bootAttempts is how many fresh port sets Start tries when another process grabs a port between
// the package picking it and the node binding it.
const bootAttempts = 3

// New prepares a node in dir, an existing directory the caller owns (and removes after the
// node's Kill or Stop): its name, free ports, configuration, cookie and data directories. It does
// not start the node: [Node.Start] does, so the caller can hand out the node's URI before the
// broker exists. It fails with [ErrNoRabbitMQ] if RabbitMQ is not installed.
//
// Options: WithTLS, WithUser, WithVHost, WithConfig, WithPlugins, WithCookie, WithBootTimeout,
// WithPortPicker, WithLogf.
func New(dir string, opts ...Option) (*Node, error) {
	inst, err := findRabbitMQ()
	if err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	n := &Node{Name: newNodeName(), Dir: dir, opts: o, install: inst}
	if err := n.layout(); err != nil {
		return nil, fmt.Errorf("rabbitnode: prepare %s in %s: %w", n.Name, n.Dir, err)
	}
	if err := n.pickPorts(); err != nil {
		return nil, err
	}
	return n, nil
}

// Start prepares a node in dir as [New] does and starts it. If another process took one of its
// ports before the node bound it, Start tries again on fresh ports (three times in all). The
// error of a node that did not boot holds the tail of its log. On error nothing of the node
// runs; the caller still owns dir.
func Start(ctx context.Context, dir string, opts ...Option) (*Node, error) {
	n, err := New(dir, opts...)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		took, err := n.boot(ctx)
		if err == nil {
			n.opts.logf("rabbitnode: %s ready on %s in %v", n.Name, n.Addr(), took.Round(time.Millisecond))
			return n, nil
		}
		clash := n.portClash()
		tail := n.LogTail(40)
		n.killFailedBoot()
		if !clash || attempt == bootAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("%w\n%s", err, tail)
		}
		n.opts.logf("rabbitnode: %s: a port was taken before the node bound it; retrying on new ports", n.Name)
		if err := n.pickPorts(); err != nil {
			return nil, err
		}
	}
}

// pickPorts chooses the node's ports and writes its configuration for them.
func (n *Node) pickPorts() error {
	var err error
	if n.Port, err = n.opts.pickPort(); err != nil {
		return err
	}
	if n.DistPort, err = n.opts.pickPort(); err != nil {
		return err
	}
	n.TLSPort = 0
	if n.opts.tls != nil {
		if n.TLSPort, err = n.opts.pickPort(); err != nil {
			return err
		}
	}
	return n.writeConfig()
}

// URI is the AMQP URI of the node for guest on vhost "/".
func (n *Node) URI() string { return n.URIWith("guest", "guest") }

// URIWith is the AMQP URI of the node for user and pass on vhost "/".
func (n *Node) URIWith(user, pass string) string {
	return "amqp://" + url.UserPassword(user, pass).String() + "@" + n.Addr() + "/"
}

// VHostURI is the AMQP URI of the node for guest on vhost.
func (n *Node) VHostURI(vhost string) string {
	return "amqp://guest:guest@" + n.Addr() + "/" + url.PathEscape(vhost)
}

// TLSURI is the AMQPS URI of the node for guest on vhost "/", with host localhost (the name in
// the server certificate of GenerateTLS). It panics if the node was prepared without WithTLS.
func (n *Node) TLSURI() string {
	if n.TLSPort == 0 {
		panic("rabbitnode: TLSURI of " + n.Name + ", prepared without WithTLS")
	}
	return "amqps://guest:guest@localhost:" + strconv.Itoa(n.TLSPort) + "/"
}

// Addr is the node's AMQP address, "127.0.0.1:<Port>".
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// TLSAddr is the node's AMQPS address, "127.0.0.1:<TLSPort>"; "" without WithTLS.
func (n *Node) TLSAddr() string {
	if n.TLSPort == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.TLSPort))
}

// Running reports whether the node's process is alive (it may still be booting, or frozen).
func (n *Node) Running() bool {
	p := n.current()
	return p != nil && !p.hasExited()
}

// current returns the current run of the node, nil if none.
func (n *Node) current() *nodeProcess {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

func (n *Node) setProc(p *nodeProcess) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proc = p
}

// Start (re)starts the node on the same ports and data directory and waits until it accepts AMQP
// connections as guest/guest, within ctx and the boot timeout (so keep guest if you restart the
// node). It fails if the node is running already or does not boot; then the error holds the
// tail of the node's log and nothing of that run is left.
func (n *Node) Start(ctx context.Context) error {
	took, err := n.boot(ctx)
	if err != nil {
		tail := n.LogTail(40)
		n.killFailedBoot()
		return fmt.Errorf("%w\n%s", err, tail)
	}
	n.opts.logf("rabbitnode: %s ready on %s in %v", n.Name, n.Addr(), took.Round(time.Millisecond))
	return nil
}

// boot spawns the node, waits until it is ready and, on its first boot, adds users and vhosts.
func (n *Node) boot(ctx context.Context) (time.Duration, error) {
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	if n.Running() {
		return 0, fmt.Errorf("rabbitnode: start %s: already running", n.Name)
	}
	start := time.Now()
	p, err := spawnNode(n.install.server, n.nodeEnv(), n.Dir, n.path(stdoutFile), n.nodeLog())
	if err != nil {
		return 0, err
	}
	n.setProc(p)
	ctx, cancel := context.WithTimeout(ctx, n.opts.bootTimeout)
	defer cancel()
	if err := n.waitReady(ctx, p); err != nil {
		return 0, fmt.Errorf("rabbitnode: %s did not become ready on %s within %v: %w",
			n.Name, n.Addr(), n.opts.bootTimeout, err)
	}
	if !n.provisioned {
		if err := n.provision(ctx); err != nil {
			return 0, err
		}
		n.provisioned = true
	}
	return time.Since(start), nil
}

// provision adds the vhosts and users of the options; n.lifecycle held on entry.
func (n *Node) provision(ctx context.Context) error {
	var cmds [][]string
	for _, v := range n.opts.vhosts {
		cmds = append(cmds,
			[]string{"add_vhost", v},
			[]string{"set_permissions", "-p", v, "guest", ".*", ".*", ".*"})
	}
	for _, u := range n.opts.users {
		cmds = append(cmds,
			[]string{"add_user", u.user, u.pass},
			[]string{"set_permissions", "-p", "/", u.user, ".*", ".*", ".*"})
		for _, v := range n.opts.vhosts {
			cmds = append(cmds, []string{"set_permissions", "-p", v, u.user, ".*", ".*", ".*"})
		}
	}
	for _, c := range cmds {
		if _, err := n.Ctl(ctx, c...); err != nil {
			return err
		}
	}
	return nil
}

// portClash reports whether the node's logs say a port was in use.
func (n *Node) portClash() bool {
	return strings.Contains(n.LogTail(200), "eaddrinuse")
}
