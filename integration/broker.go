package integration

import (
	"context"
	"testing"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// Broker is one throw-away RabbitMQ node started by StartBroker: a [rabbitnode.Node] whose
// failures fail the test. Its ports, name and directory stay the same across Kill, Stop and
// Start. A Broker is safe for concurrent use; methods taking a testing.TB must run on the
// test's goroutine.
type Broker struct {
	Name     string // Erlang node name, e.g. "warren-it-3f2a9c1d@localhost"
	Port     int    // AMQP port on 127.0.0.1
	TLSPort  int    // AMQPS port on 127.0.0.1; 0 without WithTLS
	DistPort int    // Erlang distribution port on 127.0.0.1
	Dir      string // config, data (mnesia/) and logs (log/, stdout.log), under t.TempDir()

	node *rabbitnode.Node
}

// StartBroker starts a fresh RabbitMQ node for the test and kills it in t.Cleanup. It fails the
// test if RabbitMQ is not installed (naming the fix) or does not boot (showing the node's log).
//
// Options: WithTLS, WithUser, WithVHost, WithConfig, WithPlugins, WithStartDeferred,
// WithBootTimeout.
func StartBroker(t testing.TB, opts ...BrokerOption) *Broker {
	t.Helper()
	o := defaultBrokerOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	nodeOpts := append(o.node, rabbitnode.WithPortPicker(o.pickPort), rabbitnode.WithLogf(t.Logf))
	dir := t.TempDir()
	var (
		n   *rabbitnode.Node
		err error
	)
	if o.deferred {
		n, err = rabbitnode.New(dir, nodeOpts...)
	} else {
		n, err = rabbitnode.Start(context.Background(), dir, nodeOpts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{Name: n.Name, Port: n.Port, TLSPort: n.TLSPort, DistPort: n.DistPort, Dir: n.Dir, node: n}
	t.Cleanup(func() { b.cleanup(t) }) // registered after t.TempDir: runs before its removal
	if o.deferred {
		t.Logf("integration: %s prepared on %s, not started (WithStartDeferred)", b.Name, b.Addr())
	}
	return b
}

// Start (re)starts the node on the same ports and data directory and waits until it accepts AMQP
// connections as guest/guest, within the boot timeout (so keep guest if you restart the node). It
// fails the test if the node is running already or does not boot, showing the node's log.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	if err := b.node.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// URI is the AMQP URI of the node for guest on vhost "/".
func (b *Broker) URI() string { return b.node.URI() }

// URIWith is the AMQP URI of the node for user and pass on vhost "/".
func (b *Broker) URIWith(user, pass string) string { return b.node.URIWith(user, pass) }

// VHostURI is the AMQP URI of the node for guest on vhost.
func (b *Broker) VHostURI(vhost string) string { return b.node.VHostURI(vhost) }

// TLSURI is the AMQPS URI of the node for guest on vhost "/", with host localhost (the name in
// the server certificate of GenerateTLS). It panics if the node was started without WithTLS.
func (b *Broker) TLSURI() string { return b.node.TLSURI() }

// Addr is the node's AMQP address, "127.0.0.1:<Port>".
func (b *Broker) Addr() string { return b.node.Addr() }

// TLSAddr is the node's AMQPS address, "127.0.0.1:<TLSPort>"; "" without WithTLS.
func (b *Broker) TLSAddr() string { return b.node.TLSAddr() }

// LogTail returns the last n lines of the node's log file and of its stdout and stderr, for
// failure messages.
func (b *Broker) LogTail(n int) string { return b.node.LogTail(n) }

// cleanup kills the node at the end of the test and shows its log if the test failed.
func (b *Broker) cleanup(t testing.TB) {
	if t.Failed() {
		t.Logf("integration: %s at the end of the failed test:\n%s", b.Name, b.LogTail(30))
	}
	if err := b.node.Kill(); err != nil {
		t.Errorf("integration: cleanup: %v", err)
	}
}
