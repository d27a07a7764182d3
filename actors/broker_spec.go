package actors

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// Exchange is an exchange a connection declares on connect.
type Exchange = kazoo.Exchange

// PublishSuffix ends the id of a broker's publishing connection.
const PublishSuffix = "~publish"

// ConnSeparator separates a broker id from the number of one of its
// consuming connections past the first: the first is the broker id itself
// (host:port[@vhost]), the next ones host:port[@vhost]~2, ~3 and so on,
// as the publishing connection is host:port[@vhost]~publish. ("#" is
// taken: a channel id is its connection's id, "#" and a number.)
const ConnSeparator = "~"

// DefaultMaxConnections bounds the consuming connections the tree keeps to
// one broker, those asked for (BrokerSpec.Connections, Tree.AddConnection)
// and those opened when the broker's connections run out of channels:
// 32 connections of RabbitMQ's default channel_max (2,047) carry 65,000
// channels.
const DefaultMaxConnections = 32

// NthConnID names the n-th (1-based) consuming connection of broker: the
// broker id for the first, broker~n for the next ones.
func NthConnID(broker string, n int) string {
	if n <= 1 {
		return broker
	}
	return broker + ConnSeparator + strconv.Itoa(n)
}

// BrokerOf returns the broker id of connection id: without PublishSuffix
// or the ~n of an extra consuming connection.
func BrokerOf(id string) string {
	id = strings.TrimSuffix(id, PublishSuffix)
	if i := strings.LastIndex(id, ConnSeparator); i > 0 {
		if _, err := strconv.Atoi(id[i+1:]); err == nil {
			return id[:i]
		}
	}
	return id
}

// ConnID names the connection of broker with role: the broker id itself
// for consuming, with PublishSuffix for publishing.
func ConnID(broker string, role registry.ConnRole) string {
	if role == registry.Publish {
		return broker + PublishSuffix
	}
	return broker
}

// BrokerSpec is one broker connection the tree keeps up.
type BrokerSpec struct {
	ID          string            // broker id; derived from the URI when empty
	Zone        string            // zone name; defaults to the local zone
	Options     ConnectionOptions // URL and every connection setting
	Exchanges   []Exchange        // declared on every connect; nil means Kazoo's standard set
	Bindings    []ExchangeBinding // exchange-to-exchange bindings declared on every connect, after Exchanges
	Prechannels int               // channels opened ahead of demand; 0 means DefaultPrechannels, negative none
	// Connections is how many consuming connections the tree keeps to the
	// broker (Kazoo's add_connection); 0 means 1. More are opened when
	// the ones there run out of channels (channel_max).
	Connections int
	// MaxConnections bounds the consuming connections to the broker,
	// those asked for and those opened when channels run out; 0 means
	// DefaultMaxConnections.
	MaxConnections int
	// Tags are the broker's tags (Kazoo's broker_tag): a listener or pool
	// may ask for a broker by tag.
	Tags []string
	// Hidden brokers serve sticky channels only (a consumer that names
	// the broker or one of its tags), never floats.
	Hidden bool

	role registry.ConnRole // set by publishing; "" is consume
}

// Normalize validates the spec, derives its ID and fills defaults.
// Errors name the broker by its redacted URI.
func (s BrokerSpec) Normalize(localZone string) (BrokerSpec, error) {
	plan, err := s.Options.plan()
	if err != nil {
		return s, err
	}
	if s.ID == "" {
		if s.ID, err = BrokerID(plan.uri); err != nil {
			return s, err
		}
	} else if redact.Text(s.ID) != s.ID || strings.Contains(s.ID, "://") {
		// An id is shown everywhere (actor names, logs, /metrics labels).
		return s, errors.New("warren: broker id: must not be a URI; leave it empty to derive host:port[@vhost]")
	} else if BrokerOf(s.ID) != s.ID {
		return s, fmt.Errorf("warren: broker id %s: must not end in %s or %sN (connection ids)", s.ID, PublishSuffix, ConnSeparator)
	}
	if s.MaxConnections <= 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	switch {
	case s.Connections < 0 || s.Connections > s.MaxConnections:
		return s, fmt.Errorf("warren: broker %s: connections %d: need 0..%d (max connections)", s.ID, s.Connections, s.MaxConnections)
	case s.Connections == 0:
		s.Connections = 1
	}
	for _, t := range s.Tags {
		if t == "" || strings.ContainsAny(t, ", \t") {
			return s, fmt.Errorf("warren: broker %s: tag %q: must be a non-empty word", s.ID, t)
		}
	}
	if s.Zone == "" {
		s.Zone = localZone
	}
	if s.Exchanges == nil {
		s.Exchanges = kazoo.StandardExchanges()
	}
	for _, x := range s.Exchanges {
		if x.Name == "" || x.Kind == "" {
			return s, fmt.Errorf("warren: broker %s: exchange %q: name and kind are required", s.ID, x.Name)
		}
	}
	for _, b := range s.Bindings {
		if b.Destination == "" || b.Source == "" {
			return s, fmt.Errorf("warren: broker %s: exchange binding %q to %q: destination and source are required", s.ID, b.Destination, b.Source)
		}
	}
	switch {
	case s.Prechannels == 0:
		s.Prechannels = DefaultPrechannels
	case s.Prechannels < 0:
		s.Prechannels = -1 // none; kept negative so that Normalize is idempotent
	}
	if s.Hidden { // its channels are asked for by name only: none ahead of demand
		s.Prechannels = -1
	}
	return s, nil
}

// publishing returns the spec of the broker's publishing connection: its
// own id, no exchanges or bindings to declare (the consuming connection
// declares them) and no prechannels. s is normalized.
func (s BrokerSpec) publishing() BrokerSpec {
	p := s
	p.ID, p.role = ConnID(s.ID, registry.Publish), registry.Publish
	p.Exchanges, p.Bindings, p.Prechannels = []Exchange{}, nil, -1
	name := p.Options.ConnectionName
	if name == "" {
		name = "warren"
	}
	p.Options.ConnectionName = name + " (publish)"
	return p
}

// nth returns the spec of the broker's n-th consuming connection (n >= 2):
// its own id (NthConnID) and no exchanges to declare (the first one
// declares them). s is normalized.
func (s BrokerSpec) nth(n int) BrokerSpec {
	p := s
	p.ID, p.Exchanges, p.Bindings = NthConnID(s.ID, n), []Exchange{}, nil
	name := p.Options.ConnectionName
	if name == "" {
		name = "warren"
	}
	p.Options.ConnectionName = fmt.Sprintf("%s (%d)", name, n)
	return p
}

// HasTag reports whether the broker of s carries tag.
func (s BrokerSpec) HasTag(tag string) bool { return slices.Contains(s.Tags, tag) }

// Role says what the connection of s carries.
func (s BrokerSpec) Role() registry.ConnRole {
	if s.role == "" {
		return registry.Consume
	}
	return s.role
}

// Broker returns the id of the broker of s (see BrokerOf).
func (s BrokerSpec) Broker() string { return BrokerOf(s.ID) }

// URI returns the spec's URI with its password masked.
func (s BrokerSpec) URI() BrokerURI {
	uri, err := s.Options.uri()
	if err != nil {
		return "<invalid>"
	}
	return BrokerURI(uri)
}
