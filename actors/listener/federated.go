package listener

import (
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

// markFederated adds to the envelope of a federator's delivery where it
// came from, as Kazoo's listener_federator does before it hands the event
// to its parent: AMQP-Broker, the broker id (host:port[@vhost], never a
// credential; Kazoo puts the broker's URI, password included) and
// AMQP-Broker-Zone, that broker's zone. Values the sender put there are
// replaced, as kz_json:set_values does. A local listener's deliveries are
// left as they are (Kazoo adds nothing to them). Unlike Kazoo, the
// Server-ID is kept: the federator replies on its own channel, and these
// two keys carry the hint Kazoo's "consumer://<federator>/<Server-ID>"
// does (see hintedZone).
func (s *listenerShared) markFederated(env kazoo.Envelope, broker, zone string) {
	if s.spec.parent == "" || env == nil {
		return
	}
	env[kazoo.HeaderAMQPBroker] = broker
	env[kazoo.HeaderAMQPBrokerZone] = zone
}

// hintedZone returns the zone a reply to a must go to, from the hints of
// where its request came from, or "" when none names a broker or zone of
// this tree: the broker of a consumer://<broker id>/ Server-ID, else the
// broker AMQP-Broker names (a broker id, or a URI whose broker id is
// one), else, for a consumer:// Server-ID, the zone AMQP-Broker-Zone
// names. A zone alone redirects no plain Server-ID: Kazoo and Kamailio
// send their hints with a consumer:// one, and Warren's federators with
// AMQP-Broker. Hints Warren cannot read (a
// Kazoo federator's pid, Kamailio's connection number, a zone it does not
// know) count as none. connections is read only when a has a hint: a
// reply without one, the usual, costs no read of the table.
func hintedZone(connections func() []registry.Connection, a kazoo.ReplyAddress) string {
	if a.Scheme != kazoo.SchemeConsumer && a.Broker == "" {
		return ""
	}
	conns := connections()
	zoneOf := func(broker string) string {
		for _, c := range conns {
			if c.Broker == broker {
				return c.Zone
			}
		}
		return ""
	}
	if a.Scheme == kazoo.SchemeConsumer {
		if z := zoneOf(a.Hint); z != "" {
			return z
		}
	}
	if a.Broker != "" {
		if z := zoneOf(a.Broker); z != "" {
			return z
		}
		if id, err := actors.BrokerID(a.Broker); err == nil { // err would quote the URI: dropped
			if z := zoneOf(id); z != "" {
				return z
			}
		}
	}
	for _, c := range conns {
		if a.Scheme == kazoo.SchemeConsumer && a.Zone != "" && c.Zone == a.Zone {
			return a.Zone
		}
	}
	return ""
}
