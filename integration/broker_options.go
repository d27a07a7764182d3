package integration

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultBootTimeout bounds how long starting a node may take, from spawning it to a successful
// AMQP handshake (and the users and vhosts of WithUser and WithVHost being added). A node boots in
// about 5 s on an idle machine with two cores; busy CI machines are much slower.
const DefaultBootTimeout = 2 * time.Minute

// BrokerOption configures a node started by StartBroker. An option that returns an error fails
// the test.
type BrokerOption func(*brokerOptions) error

type brokerOptions struct {
	tls         *TLSFiles
	users       []credential
	vhosts      []string
	config      []string
	plugins     []string
	deferred    bool
	bootTimeout time.Duration
	pickPort    func() (int, error) // freePort; tests swap it to provoke port clashes
	cookie      string              // Erlang cookie; "" a fresh random one
}

type credential struct{ user, pass string }

func defaultBrokerOptions() brokerOptions {
	return brokerOptions{bootTimeout: DefaultBootTimeout, pickPort: freePort}
}

// WithTLS adds an AMQPS listener on a second free port ([Broker.TLSPort]) that presents
// certs.ServerCert, trusts certs.CACert and asks clients for a certificate without requiring one
// (verify_peer, fail_if_no_peer_cert = false). Defaults to no TLS listener.
func WithTLS(certs *TLSFiles) BrokerOption {
	return func(o *brokerOptions) error {
		if certs == nil {
			return errors.New("integration: WithTLS: nil certificates (use GenerateTLS)")
		}
		o.tls = certs
		return nil
	}
}

// WithUser adds user with password pass and full permissions on "/" and on every vhost of
// WithVHost, through rabbitmqctl after the first boot. Defaults to guest/guest only.
func WithUser(user, pass string) BrokerOption {
	return func(o *brokerOptions) error {
		if user == "" || user == "guest" {
			return fmt.Errorf("integration: WithUser(%q): need a name other than guest", user)
		}
		o.users = append(o.users, credential{user, pass})
		return nil
	}
}

// WithVHost adds vhost name, on which guest and the users of WithUser get full permissions,
// through rabbitmqctl after the first boot. Defaults to "/" only.
func WithVHost(name string) BrokerOption {
	return func(o *brokerOptions) error {
		if name == "" || name == "/" {
			return fmt.Errorf("integration: WithVHost(%q): need a name other than \"/\"", name)
		}
		o.vhosts = append(o.vhosts, name)
		return nil
	}
}

// WithConfig appends lines to the node's rabbitmq.conf (new-style, sysctl format), e.g.
// "heartbeat = 5" or "vm_memory_high_watermark.relative = 0.001". They come after the harness's
// own lines and the last value of a repeated key wins, so "log.console = true" overrides the
// harness's "log.console = false". Defaults to no extra lines.
func WithConfig(lines ...string) BrokerOption {
	return func(o *brokerOptions) error {
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\n") {
				return fmt.Errorf("integration: WithConfig: one setting per line, got %q", l)
			}
		}
		o.config = append(o.config, lines...)
		return nil
	}
}

// WithPlugins enables RabbitMQ plugins, e.g. "rabbitmq_consistent_hash_exchange". The node then
// scans the full plugins directory, which costs about 1.5 s of boot time. Defaults to none.
func WithPlugins(names ...string) BrokerOption {
	return func(o *brokerOptions) error {
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, " ,.[]'\"") {
				return fmt.Errorf("integration: WithPlugins: bad plugin name %q", n)
			}
		}
		o.plugins = append(o.plugins, names...)
		return nil
	}
}

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
	return func(o *brokerOptions) error {
		if d <= 0 {
			return fmt.Errorf("integration: WithBootTimeout(%v): need a positive duration", d)
		}
		o.bootTimeout = d
		return nil
	}
}

// WithCookie gives the node the Erlang cookie c instead of a fresh random one: nodes that share
// a cookie can be joined into one cluster (StartCluster).
func WithCookie(c string) BrokerOption {
	return func(o *brokerOptions) error {
		if c == "" || strings.ContainsAny(c, " \n\t") {
			return fmt.Errorf("integration: WithCookie(%q): need a non-empty cookie without spaces", c)
		}
		o.cookie = c
		return nil
	}
}
