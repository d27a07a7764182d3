package integration

import (
	"time"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// DefaultBootTimeout bounds how long starting a node may take, from spawning it to a successful
// AMQP handshake (and the users and vhosts of WithUser and WithVHost being added). A node boots in
// about 5 s on an idle machine with two cores; busy CI machines are much slower.
const DefaultBootTimeout = rabbitnode.DefaultBootTimeout

// EnvRabbitMQBin names the environment variable that points the harness at a directory holding
// rabbitmq-server and rabbitmqctl. Defaults to /usr/lib/rabbitmq/bin, then the first
// rabbitmq-server on PATH.
const EnvRabbitMQBin = rabbitnode.EnvRabbitMQBin

// ErrNoRabbitMQ fails the test when no usable RabbitMQ installation is found; its text names the
// fix.
var ErrNoRabbitMQ = rabbitnode.ErrNoRabbitMQ

// BrokerOption configures a node started by StartBroker. An option that returns an error fails
// the test.
type BrokerOption func(*brokerOptions) error

type brokerOptions struct {
	node     []rabbitnode.Option // checked as they are added
	deferred bool
	pickPort func() (int, error) // rabbitnode.FreePort; tests swap it to provoke port clashes
}

func defaultBrokerOptions() brokerOptions {
	return brokerOptions{pickPort: rabbitnode.FreePort}
}

// nodeOption is a BrokerOption that passes opt on to the node, failing at once if opt is bad.
func nodeOption(opt rabbitnode.Option) BrokerOption {
	return func(o *brokerOptions) error {
		if err := rabbitnode.Check(opt); err != nil {
			return err
		}
		o.node = append(o.node, opt)
		return nil
	}
}

// WithTLS adds an AMQPS listener on a second free port ([Broker.TLSPort]) that presents
// certs.ServerCert, trusts certs.CACert and asks clients for a certificate without requiring one
// (verify_peer, fail_if_no_peer_cert = false). Defaults to no TLS listener.
func WithTLS(certs *TLSFiles) BrokerOption { return nodeOption(rabbitnode.WithTLS(certs)) }

// WithUser adds user with password pass and full permissions on "/" and on every vhost of
// WithVHost, through rabbitmqctl after the first boot. Defaults to guest/guest only.
func WithUser(user, pass string) BrokerOption { return nodeOption(rabbitnode.WithUser(user, pass)) }

// WithVHost adds vhost name, on which guest and the users of WithUser get full permissions,
// through rabbitmqctl after the first boot. Defaults to "/" only.
func WithVHost(name string) BrokerOption { return nodeOption(rabbitnode.WithVHost(name)) }

// WithConfig appends lines to the node's rabbitmq.conf (new-style, sysctl format), e.g.
// "heartbeat = 5" or "vm_memory_high_watermark.relative = 0.001". They come after the harness's
// own lines and the last value of a repeated key wins, so "log.console = true" overrides the
// harness's "log.console = false". Defaults to no extra lines.
func WithConfig(lines ...string) BrokerOption { return nodeOption(rabbitnode.WithConfig(lines...)) }

// WithPlugins enables RabbitMQ plugins, e.g. "rabbitmq_consistent_hash_exchange". The node then
// scans the full plugins directory, which costs about 1.5 s of boot time. Defaults to none.
func WithPlugins(names ...string) BrokerOption { return nodeOption(rabbitnode.WithPlugins(names...)) }

// WithStartDeferred makes StartBroker create the node's directory, ports and configuration but
// not start it, so a test can start Warren before its broker exists and call [Broker.Start]
// later. Defaults to starting at once.
func WithStartDeferred() BrokerOption {
	return func(o *brokerOptions) error {
		o.deferred = true
		return nil
	}
}

// WithBootTimeout bounds each start of the node, see DefaultBootTimeout. Defaults to
// DefaultBootTimeout.
func WithBootTimeout(d time.Duration) BrokerOption {
	return nodeOption(rabbitnode.WithBootTimeout(d))
}

// WithCookie gives the node the Erlang cookie c instead of a fresh random one: nodes that share
// a cookie can be joined into one cluster (StartCluster).
func WithCookie(c string) BrokerOption { return nodeOption(rabbitnode.WithCookie(c)) }
