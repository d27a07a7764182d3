package supervisor

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/redact"
)

// DefaultZone is the local zone's name when none is configured, as in Kazoo.
const DefaultZone = "local"

// Config declares the brokers of a Warren node.
type Config struct {
	// LocalZone is this node's zone: floats use its brokers and readiness
	// waits for one of them. Defaults to the only zone when there is one,
	// else to DefaultZone.
	LocalZone string
	// Zones lists the brokers of each zone.
	Zones []Zone
	// Connection holds the settings every broker connection starts from;
	// each broker's URI fills in its URL (and wins where both speak).
	Connection actors.ConnectionOptions
	// Exchanges are declared on every connect. nil means Kazoo's standard
	// set (kazoo.StandardExchanges); an empty non-nil slice declares none.
	Exchanges []actors.Exchange
	// ExchangeBindings are exchange-to-exchange bindings declared on every
	// connect, after Exchanges (Tree.BindExchange adds more at run time).
	ExchangeBindings []actors.ExchangeBinding
	// Prefetch is the prefetch of listeners started with Tree.SpawnListener
	// whose Spec.Prefetch is 0 (Kazoo's [amqp] prefetch); a negative value
	// sets none (no basic.qos: unlimited). Defaults to
	// listener.DefaultPrefetch (50, as Kazoo).
	Prefetch int
	// Prechannels is the number of channels each connection opens ahead of
	// demand. Defaults to actors.DefaultPrechannels (10, as Kazoo).
	Prechannels int
	// Connections is how many consuming connections the tree keeps to each
	// broker from the start (Kazoo's add_connection); more are opened when
	// a broker's run out of channels, up to actors.DefaultMaxConnections.
	// Defaults to 1.
	Connections int
	// MaxConnections bounds the consuming connections to each broker.
	// Defaults to actors.DefaultMaxConnections (32).
	MaxConnections int
	// BootstrapTimeout is how long bootstrap waits for a local broker before
	// reporting an error. Defaults to actors.DefaultBootstrapTimeout.
	BootstrapTimeout time.Duration
	// DrainTimeout bounds how long Shutdown and StopListener let running
	// handlers finish (after the consumers were cancelled and the
	// prefetched deliveries requeued) before they cancel the handlers'
	// ctx; a handler that then fails has its message requeued. Defaults to
	// DefaultDrainTimeout (10s); a shorter ctx deadline of the call wins.
	DrainTimeout time.Duration
	// RPC sizes the RPC workers behind Tree.Call and gives their requests'
	// default headers; zero fields take the defaults (rpc.Config).
	RPC rpc.Config
	// Publish sizes the publishers pool behind Tree.Publish; zero fields
	// take the defaults (publish.Config). The other zones get one
	// publisher and one RPC worker each, sized alike.
	Publish publish.Config
	// Pools are named pools started with the tree, as Tree.AddPool would
	// add them (config.ini's [pool NAME] sections); Tree.RemovePool
	// removes them. A pool's broker must be one of Zones' brokers, by id.
	Pools []PoolSpec
	// Nodes declares this node's advertisement on Kazoo's "nodes"
	// exchange and the list of nodes it keeps (NodesConfig): on by
	// default, as in Kazoo.
	Nodes NodesConfig
	// Source names where the config came from, for error messages.
	Source string
}

// Zone is a named group of brokers (Kazoo's [zone] section).
type Zone struct {
	Name    string
	Brokers []string // AMQP URIs
}

// ConfigError names the place of a configuration mistake. Its message never
// shows a password: every AMQP URI in it is masked (redact.Text).
type ConfigError struct {
	Source  string // file path, or "config"
	Section string // e.g. "[zone] #2"
	Key     string
	Err     error
}

func (e *ConfigError) Error() string {
	msg := "warren: " + e.Source
	if e.Section != "" {
		msg += ": " + e.Section
	}
	if e.Key != "" {
		msg += ": " + e.Key
	}
	// Every message is masked and clipped here, whatever built it: a value
	// may hold a URI, and a file's line may be megabytes long.
	return redact.Clip(redact.Text(msg), 512) + ": " + redact.Clip(redact.Text(e.Err.Error()), 1024)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrNoBrokers is returned when a configuration names no broker at all.
var ErrNoBrokers = errors.New("no broker configured")

// resolve validates the config and returns the local zone and the broker specs.
func (c Config) resolve() (string, []actors.BrokerSpec, error) {
	src := c.Source
	if src == "" {
		src = "config"
	}
	local := c.LocalZone
	if local == "" {
		local = DefaultZone
		if len(c.Zones) == 1 && c.Zones[0].Name != "" {
			local = c.Zones[0].Name
		}
	}
	var specs []actors.BrokerSpec
	seen := map[string]string{}
	hasLocal := false
	for i, z := range c.Zones {
		section := fmt.Sprintf("zone #%d (%s)", i+1, echo(z.Name))
		if z.Name == "" {
			return "", nil, &ConfigError{Source: src, Section: fmt.Sprintf("zone #%d", i+1), Key: "name", Err: errors.New("zone has no name")}
		}
		for j, uri := range z.Brokers {
			key := fmt.Sprintf("amqp_uri #%d", j+1)
			opts := c.Connection
			var tags []string
			var hidden bool
			opts.URL, tags, hidden = brokerQuery(uri)
			spec, err := actors.BrokerSpec{Zone: z.Name, Options: opts, Exchanges: c.Exchanges, Bindings: c.ExchangeBindings, Prechannels: c.Prechannels,
				Connections: c.Connections, MaxConnections: c.MaxConnections, Tags: tags, Hidden: hidden}.Normalize(local)
			if err != nil {
				return "", nil, &ConfigError{Source: src, Section: section, Key: key, Err: err}
			}
			if prev, dup := seen[spec.ID]; dup {
				return "", nil, &ConfigError{Source: src, Section: section, Key: key,
					Err: fmt.Errorf("broker %s listed twice (also in %s)", spec.ID, prev)}
			}
			seen[spec.ID] = section
			hasLocal = hasLocal || z.Name == local
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		return "", nil, &ConfigError{Source: src, Err: ErrNoBrokers}
	}
	if !hasLocal {
		return "", nil, &ConfigError{Source: src, Err: fmt.Errorf(
			"no broker in the local zone %q (zones: %s): name this node's zone, one of them, with [kazoo_apps] zone = or [warren] zone = in config.ini, "+
				"$"+EnvZone+" or $"+envKazooZone+", --zone on the command line, or Config.LocalZone",
			local, c.zoneNames())}
	}
	if c.DrainTimeout < 0 {
		return "", nil, &ConfigError{Source: src, Key: "drain_timeout", Err: errors.New("must not be negative")}
	}
	if c.Prefetch > math.MaxUint16 {
		return "", nil, &ConfigError{Source: src, Key: "prefetch", Err: fmt.Errorf("%d: AMQP allows at most %d", c.Prefetch, math.MaxUint16)}
	}
	if c.BootstrapTimeout < 0 {
		return "", nil, &ConfigError{Source: src, Key: "bootstrap_timeout", Err: errors.New("must not be negative")}
	}
	if err := c.Publish.Validate(); err != nil { // each pool's package owns its rules
		return "", nil, &ConfigError{Source: src, Section: "publish", Err: err}
	}
	if err := c.RPC.Validate(); err != nil {
		return "", nil, &ConfigError{Source: src, Section: "rpc", Err: err}
	}
	if err := c.Nodes.validate(); err != nil {
		return "", nil, &ConfigError{Source: src, Section: "nodes", Err: err}
	}
	return local, specs, nil
}

func (c Config) zoneNames() string {
	s := ""
	for i, z := range c.Zones {
		if i > 0 {
			s += ", "
		}
		s += z.Name
	}
	return s
}
