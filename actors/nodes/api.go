package nodes

import "github.com/warrenmq/warren/actors/kazoo"

// Kazoo's names for the advertisement (kapi_nodes, kz_nodes).
const (
	Category   = "nodes"     // Event-Category
	EventName  = "advertise" // Event-Name
	Exchange   = kazoo.ExchangeNodes
	RoutingKey = "" // kz_amqp_util:nodes_publish publishes with an empty key on the fanout exchange
	// AppName is the App-Name of Warren's advertisements: how a reader
	// tells a Warren node from a Kazoo one (whose App-Name is "kz_nodes").
	AppName = "warren"
	// FudgeFactor stretches an advertised Expires before a node is
	// forgotten (kz_nodes' ?FUDGE_FACTOR).
	FudgeFactor = 1.25
)

// Advertise is kapi_nodes' advertise definition: Expires is required, the
// rest optional (2600hz/kazoo core/kazoo_amqp/src/api/kapi_nodes.erl).
var Advertise = kazoo.API{
	Category: Category,
	Name:     EventName,
	Exchange: Exchange,
	Required: []string{"Expires"},
	Optional: []string{"Channels", "Conferences", "Globals", "Media-Servers", "Node-Info", "Ports",
		"Processes", "Registrations", "Used-Memory", "Version", "WhApps", "Zone", "md5"},
}
