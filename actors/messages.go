package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/registry"
)

// Consumer protocol (any actor ↔ assignments).

// RequestChannel asks the assignments actor for a channel for Consumer.
// The answer arrives later as *ChannelAssigned.
type RequestChannel struct {
	Consumer *actor.PID
	App      string               // application name shown in the CLI
	Type     registry.ChannelType // Float (default) or Sticky
	Broker   string               // broker id, for Sticky
	Zone     string               // zone for Float; defaults to the local zone
	// Tag asks for a broker with that tag (BrokerSpec.Tags, Kazoo's
	// broker_tag): a Sticky with a Tag and no Broker takes a channel on a
	// broker of the zone with the tag, which may be a hidden one.
	Tag string
	// Role picks the broker's connection: registry.Consume (the default)
	// or registry.Publish, for consumers that publish (publishers, RPC
	// workers), when the tree splits publishing (Env.SplitPublishing).
	Role registry.ConnRole
	// CanMove says the consumer understands moves (ChannelAssigned.Moved):
	// when its broker is drained (DrainBroker), it is given a channel on
	// another broker of its zone while it still holds the old one, and
	// releases the old one itself once its work left it. A consumer without
	// it gets ChannelLost, then a ChannelAssigned with Reconnect.
	CanMove bool
}

// ReleaseChannel gives a consumer's channel back (it is closed). A consumer
// that stops releases its channels implicitly. ID names the channel to give
// back: the old one of a move (ChannelAssigned.MovedFrom); empty, every
// channel the consumer holds.
type ReleaseChannel struct {
	Consumer *actor.PID
	ID       string
}

// ChannelAssigned tells a consumer it owns Channel. Reconnect is true when it
// replaces a lost channel: the consumer re-declares its topology on it.
type ChannelAssigned struct {
	ID      string
	Channel *amqp.Channel
	Link    *Link // the connection's socket, to guard writes on Channel (may be nil)
	// Exchanges the channel's connection declared when it connected, which
	// a consumer may take as existing (nil: none known).
	Exchanges *ExchangeSet
	Broker    string
	Zone      string
	Reconnect bool
	// MovedFrom, when set, is the id of the channel the consumer still
	// holds on a broker being drained (CanMove consumers only): Channel is
	// its new channel, on another broker of the zone. The consumer moves
	// its work to Channel first (a listener consumes there before it
	// cancels on the old one; a publisher writes new publishes there), and
	// then sends ReleaseChannel{ID: MovedFrom}. Until then both are its.
	MovedFrom string
}

// ChannelWaiting tells a consumer that waits for a channel why it has none
// yet: Reason says so ("no channel left on broker X: channel_max N
// reached": the connection's channel numbers are used up), or, empty, that
// the reason it was told before no longer holds. It comes only when the
// reason changes, never to a consumer holding a channel; a consumer may
// ignore it (the assignments row says the same).
type ChannelWaiting struct {
	Broker string // the connection id it waits for
	Reason string
}

// ChannelLost tells a consumer its channel died; a *ChannelAssigned with
// Reconnect set follows when a replacement is available.
type ChannelLost struct {
	ID     string
	Broker string
	Err    error // nil when the broker connection closed gracefully
}

// DrainBroker marks broker Broker (a broker id: both its connections,
// consuming and publishing) as draining, or no longer draining with
// Undrain, at the assignments actor. A draining broker takes no new float
// channels while another broker of its zone is up; the floats holding one
// of its channels move (CanMove) or lose it and get one elsewhere. Reply
// (room for one value) receives nil once the mark is set and the moves
// started, or why the drain is refused: an unknown broker, or no other
// broker of its zone up. Tree.DrainBroker sends it and then waits for the
// broker's float channels to be released.
type DrainBroker struct {
	Broker  string
	Undrain bool
	Reply   chan<- error
}

// drainMark tells the connections actor to set (or clear) the Draining
// column of the connections ids, and their actors the detail line; the
// connections actor sends it (on false) to the assignments actor when it
// removes a drained broker.
type drainMark struct {
	ids []string
	on  bool
}

// Broker management (callers ↔ connections).

// AddBroker asks the connections actor to start a connection. The reply is
// *BrokerAdded.
type AddBroker struct{ Spec BrokerSpec }

// BrokerAdded answers AddBroker.
type BrokerAdded struct {
	ID  string
	Err error
}

// AddConnection asks the connections actor for one more consuming
// connection to broker Broker (Kazoo's add_connection), up to its
// BrokerSpec.MaxConnections. The reply is *ConnectionAdded.
type AddConnection struct{ Broker string }

// ConnectionAdded answers AddConnection: ID is the new connection's id
// (NthConnID), Broker the broker asked about.
type ConnectionAdded struct {
	Broker string
	ID     string
	Err    error
}

// RemoveBroker stops the connections of broker ID. The reply is *BrokerRemoved.
type RemoveBroker struct{ ID string }

// BrokerRemoved answers RemoveBroker.
type BrokerRemoved struct{ Err error }

// SpawnChild asks a simple_one_for_one supervisor to start a child. The reply
// is *ChildSpawned.
type SpawnChild struct {
	Name  string
	Props *actor.Props
}

// ChildSpawned answers SpawnChild.
type ChildSpawned struct {
	PID *actor.PID
	Err error
}

// StopChild asks a supervisor to stop its child Name. The reply is *ChildStopped.
type StopChild struct{ Name string }

// ChildStopped answers StopChild.
type ChildStopped struct{ Err error }

// DeclareExchange asks a connection actor to declare an exchange on its
// control channel (with Passive, to check that it exists: a 404 closes the
// control channel, never a channel anyone publishes or consumes on). The
// reply is *ExchangeDeclared.
type DeclareExchange struct {
	Exchange Exchange
	Passive  bool
	// Reply, when set, receives the outcome instead of a response to the
	// sender (it must have room for one value): a goroutine can wait on it
	// with its own deadline, no future involved.
	Reply chan<- error
}

// ExchangeDeclared answers DeclareExchange.
type ExchangeDeclared struct{ Err error }

// ApplyTopology asks a connection actor to carry Change out on its
// control channel (ChangeTopology sends it to every broker's first
// consuming connection). Reply (room for one value) receives nil, the
// broker's refusal, or why it could not be sent (ErrNotConnected).
type ApplyTopology struct {
	Change TopologyChange
	Reply  chan<- error
}

// RecordTopology asks the bootstrap actor, the topology table's writer,
// to record Change (a declare or bind) or forget it (a delete or
// unbind). Reply (room for one value) receives the write's error.
type RecordTopology struct {
	Change TopologyChange
	Reply  chan<- error
}

// Internal messages.

type connectionStatus struct{ row registry.Connection }

type brokerUp struct {
	broker, zone string // broker is the connection id
	base         string // the broker id (BrokerOf(broker))
	tags         []string
	hidden       bool
	maxConns     int // BrokerSpec.MaxConnections
	role         registry.ConnRole
	conn         *actor.PID
	channels     []*openedChannel
	target       int // prechannels the broker's pool keeps
	channelMax   int // the connection's negotiated channel_max
}
type brokerDown struct {
	broker string
	err    error
}
type openChannels struct{ n int }

// channelFreed: a channel of broker was closed while its channel_max was
// used up; its number is free again.
type channelFreed struct{ broker string }
type channelsOpened struct {
	broker   string
	asked    int // channels asked for by openChannels (0 for none)
	channels []*openedChannel
	err      error
}

type openedChannel struct {
	id, broker, zone string
	ch               *amqp.Channel
	link             *Link
	exchanges        *ExchangeSet     // what its connection declared (nil when not known)
	closed           chan *amqp.Error // buffered; registered right after opening
}

type channelClosed struct {
	id  string
	err *amqp.Error
}

type retryAssign struct{ consumer string }

type dialNow struct{ gen uint64 }
type dialed struct {
	gen   uint64
	slot  *dialSlot // holds the session, if the dial made one
	err   error
	stage dialStage // how far a failed dial got
	took  time.Duration
}
type connLost struct {
	gen uint64
	err *amqp.Error
}
type connBlocked struct {
	gen    uint64
	active bool
	reason string
}
type channelsReady struct {
	gen      uint64
	asked    int
	channels []*openedChannel
	err      error
}
