package rabbitnode

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

// Option configures a node prepared by New or Start. New and Start fail with the error of the
// first bad option; [Check] reports it earlier.
type Option func(*options) error

type options struct {
	tls         *TLSFiles
	users       []credential
	vhosts      []string
	config      []string
	plugins     []string
	bootTimeout time.Duration
	pickPort    func() (int, error)           // FreePort unless WithPortPicker
	cookie      string                        // Erlang cookie; "" a fresh random one
	logf        func(format string, a ...any) // progress lines; never nil
}

type credential struct{ user, pass string }

func defaultOptions() options {
	return options{bootTimeout: DefaultBootTimeout, pickPort: FreePort, logf: func(string, ...any) {}}
}

// Check reports the first of opts that New and Start would reject, so that a caller collecting
// options can fail where the bad one is given.
func Check(opts ...Option) error {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return err
		}
	}
	return nil
}

// WithTLS adds an AMQPS listener on a second free port ([Node.TLSPort]) that presents
// certs.ServerCert, trusts certs.CACert and asks clients for a certificate without requiring one
// (verify_peer, fail_if_no_peer_cert = false). Defaults to no TLS listener.
func WithTLS(certs *TLSFiles) Option {
	return func(o *options) error {
		if certs == nil {
			return errors.New("rabbitnode: WithTLS: nil certificates (use GenerateTLS)")
		}
		o.tls = certs
		return nil
	}
}

// WithUser adds user with password pass and full permissions on "/" and on every vhost of
// WithVHost, through rabbitmqctl after the first boot. Defaults to guest/guest only.
func WithUser(user, pass string) Option {
	return func(o *options) error {
		if user == "" || user == "guest" {
			return fmt.Errorf("rabbitnode: WithUser(%q): need a name other than guest", user)
		}
		o.users = append(o.users, credential{user, pass})
		return nil
	}
}

// WithVHost adds vhost name, on which guest and the users of WithUser get full permissions,
// through rabbitmqctl after the first boot. Defaults to "/" only.
func WithVHost(name string) Option {
	return func(o *options) error {
		if name == "" || name == "/" {
			return fmt.Errorf("rabbitnode: WithVHost(%q): need a name other than \"/\"", name)
		}
		o.vhosts = append(o.vhosts, name)
		return nil
	}
}

// WithConfig appends lines to the node's rabbitmq.conf (new-style, sysctl format), e.g.
// "heartbeat = 5" or "vm_memory_high_watermark.relative = 0.001". They come after the lines the
// package writes and the last value of a repeated key wins, so "log.console = true" overrides
// its "log.console = false". Defaults to no extra lines.
func WithConfig(lines ...string) Option {
	return func(o *options) error {
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\n") {
				return fmt.Errorf("rabbitnode: WithConfig: one setting per line, got %q", l)
			}
		}
		o.config = append(o.config, lines...)
		return nil
	}
}

// WithPlugins enables RabbitMQ plugins, e.g. "rabbitmq_consistent_hash_exchange". The node then
// scans the full plugins directory, which costs about 1.5 s of boot time. Defaults to none.
func WithPlugins(names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, " ,.[]'\"") {
				return fmt.Errorf("rabbitnode: WithPlugins: bad plugin name %q", n)
			}
		}
		o.plugins = append(o.plugins, names...)
		return nil
	}
}

// WithBootTimeout bounds each start of the node, see DefaultBootTimeout. Defaults to
// DefaultBootTimeout.
func WithBootTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("rabbitnode: WithBootTimeout(%v): need a positive duration", d)
		}
		o.bootTimeout = d
		return nil
	}
}

// WithCookie gives the node the Erlang cookie c instead of a fresh random one: nodes that share
// a cookie can be joined into one cluster. Defaults to a fresh random cookie.
func WithCookie(c string) Option {
	return func(o *options) error {
		if c == "" || strings.ContainsAny(c, " \n\t") {
			return fmt.Errorf("rabbitnode: WithCookie(%q): need a non-empty cookie without spaces", c)
		}
		o.cookie = c
		return nil
	}
}

// WithPortPicker makes the node take its ports from pick instead of FreePort; a test uses it to
// hand out a taken port and see Start retry. Defaults to FreePort.
func WithPortPicker(pick func() (int, error)) Option {
	return func(o *options) error {
		if pick == nil {
			return errors.New("rabbitnode: WithPortPicker: nil function")
		}
		o.pickPort = pick
		return nil
	}
}

// WithLogf sends the node's progress lines (ready after how long, a retry on new ports) to logf,
// e.g. a testing.T's Logf; it is called only from the goroutine calling Start. Defaults to
// discarding them.
func WithLogf(logf func(format string, a ...any)) Option {
	return func(o *options) error {
		if logf == nil {
			return errors.New("rabbitnode: WithLogf: nil function")
		}
		o.logf = logf
		return nil
	}
}
