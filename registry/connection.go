package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
)

// ConnState is the state of one broker connection.
type ConnState string

// Connection states. A connection starts Disconnected, dials (Connecting),
// and is Connected once its control channel and exchanges are set up.
// Blocked is Connected with the broker refusing publishes
// (connection.blocked). Failed is Disconnected after an error that retrying
// cannot fix soon (access refused, vhost missing, TLS verification).
const (
	Disconnected ConnState = "disconnected"
	Connecting   ConnState = "connecting"
	Connected    ConnState = "connected"
	Blocked      ConnState = "blocked"
	Failed       ConnState = "failed"
)

func (s ConnState) String() string { return string(s) }

// ConnRole says what a broker connection carries. Warren keeps publishing
// and consuming on separate connections to each broker (as RabbitMQ advises
// and Kamailio's kazoo module does): RabbitMQ blocks a connection that
// publishes during a memory or disk alarm, and consumers must keep
// draining the queues meanwhile.
type ConnRole string

// Connection roles.
const (
	Consume ConnRole = "consume" // listeners; declares the configured exchanges; the broker's primary connection
	Publish ConnRole = "publish" // publishers and RPC workers
)

// Connection is a row of the connections table: one broker connection.
type Connection struct {
	// ID names the connection: the broker id (host:port[@vhost]) for the
	// broker's first consuming connection, host:port[@vhost]~N for its
	// N-th (N >= 2), with "~publish" appended for the publishing one.
	// Unique, never a password.
	ID        string    `json:"id"`
	Broker    string    `json:"broker"`     // the broker id, the same for all connections of a broker
	Role      ConnRole  `json:"role"`       // consume or publish
	Zone      string    `json:"zone"`       // zone name as configured
	Local     bool      `json:"local"`      // Zone is this node's own zone
	URI       string    `json:"uri"`        // the URI with its password masked
	State     ConnState `json:"state"`      //
	Available bool      `json:"available"`  // usable for new channels (Connected or Blocked)
	Attempts  int       `json:"attempts"`   // dial attempts since the last successful connect
	Connects  int       `json:"connects"`   // successful connects since the tree started (reconnects: Connects-1)
	LastError string    `json:"last_error"` // last dial or connection error, credentials removed
	// Refused: the last dial failed with an error that retrying cannot fix
	// soon (actors.Permanent: access refused, vhost not found, host name
	// not resolved, certificate not trusted). The connection keeps
	// redialling, at its maximum delay, since a broker's configuration can
	// be fixed; Tree.WaitReady gives up at once. Cleared by the next dial
	// that fails otherwise or succeeds.
	Refused    bool          `json:"refused,omitempty"`
	Since      time.Time     `json:"since"`       // time of the last state change (disconnected and connecting are one: dials do not move it)
	Channels   int           `json:"channels"`    // AMQP channels open on this connection, control channel included (filled on read from the assignments table)
	ChannelMax int           `json:"channel_max"` // negotiated channel_max (0 until connected)
	FrameMax   int           `json:"frame_max"`   // negotiated frame size
	Heartbeat  time.Duration `json:"heartbeat"`   // negotiated heartbeat
	Product    string        `json:"product"`     // server product, e.g. RabbitMQ
	Version    string        `json:"version"`     // server version, e.g. 3.10.8
	Actor      string        `json:"actor"`       // path of the connection actor
	NextDial   time.Time     `json:"next_dial"`   // when the next dial is due (zero when none is)
	// ExchangeErrors names each configured exchange the broker refused to
	// declare on the last connect ("exchange X: 406 …"): the connection is
	// up, only publishes to those exchanges fail.
	ExchangeErrors []string `json:"exchange_errors,omitempty"`
	// Prechannels is the size of the broker's pool of channels opened ahead
	// of demand (0: none).
	Prechannels int `json:"prechannels"`
	// Draining: the broker is being drained (Tree.DrainBroker): floats
	// take none of its channels while another broker of its zone is up.
	// The mark stays across reconnects until Tree.UndrainBroker.
	Draining bool `json:"draining"`
	// Tags are the broker's tags (Kazoo's broker_tag): a consumer may ask
	// for a broker by tag.
	Tags []string `json:"tags,omitempty"`
	// Hidden: the broker serves sticky channels only (a consumer naming it
	// or one of its tags), never floats; it keeps no prechannels.
	Hidden bool `json:"hidden"`
}

// ConnectionsWriter writes the connections table. The tree hands the only
// one to the connections actor.
type ConnectionsWriter struct{ r *Registry }

// Write runs fn in one write transaction of the connections table and
// commits it when fn returns nil.
func (w ConnectionsWriter) Write(fn func(tx *ConnectionsTx) error) error {
	return w.r.write(func(txn *memdb.Txn) error { return fn(&ConnectionsTx{txn}) })
}

// ConnectionsTx is a write transaction of the connections table, handed to
// the function given to [ConnectionsWriter.Write]. It must not be kept
// after that function returns.
type ConnectionsTx struct{ txn *memdb.Txn }

// PutConnection inserts or replaces a connection row.
// A row without a role is the broker's consuming connection.
func (tx *ConnectionsTx) PutConnection(c Connection) error {
	if c.Role == "" {
		c.Role = Consume
	}
	if c.Broker == "" {
		c.Broker = c.ID
	}
	return insert(tx.txn, tableConnections, &c)
}

// DeleteConnection removes a connection row.
func (tx *ConnectionsTx) DeleteConnection(id string) error {
	return remove(tx.txn, tableConnections, id)
}

// ConnectionRow reads a row inside the transaction, for read-modify-write.
func (tx *ConnectionsTx) ConnectionRow(id string) (Connection, bool) {
	return firstIn[Connection](tx.txn, tableConnections, id)
}

// Connections lists every connection, ordered by ID, with Channels filled in.
func (r *Registry) Connections() []Connection { return r.Snapshot().Connections() }

// Connection returns the row of broker id, with Channels filled in.
func (r *Registry) Connection(id string) (Connection, bool) { return r.Snapshot().Connection(id) }

// Available lists the available brokers of zone (their consuming
// connections), primary first.
func (r *Registry) Available(zone string) []Connection { return r.Snapshot().Available(zone) }

// Primary returns the primary broker of zone: the available broker with the
// smallest ID, as Kazoo's kz_amqp_connections:primary_broker/0 picks the
// smallest URI.
func (r *Registry) Primary(zone string) (Connection, bool) { return r.Snapshot().Primary(zone) }

// Connections lists every connection, ordered by ID, with Channels filled in.
func (s *Snapshot) Connections() []Connection {
	rows := list[Connection](s, tableConnections, "id")
	for i := range rows {
		rows[i].Channels = s.channelsOf(rows[i])
	}
	return rows
}

// ConnectionRows lists every connection, ordered by ID, as Connections
// does but without Channels (0): counting them reads the assignments
// table, so that a wait reading Connections also runs again on every
// channel assigned or given back. A wait that needs no count reads these
// (the federators' reconcile did, bringing up 10,000 listeners: 14 % of
// the process's CPU, issue 25).
func (s *Snapshot) ConnectionRows() []Connection {
	return list[Connection](s, tableConnections, "id")
}

// Connection returns the row of broker id, with Channels filled in.
func (s *Snapshot) Connection(id string) (Connection, bool) {
	c, ok := one[Connection](s, tableConnections, "id", id)
	if ok {
		c.Channels = s.channelsOf(c)
	}
	return c, ok
}

// channelsOf counts the channels open on c: its prechannels and assigned
// channels, and its control channel while it is available.
func (s *Snapshot) channelsOf(c Connection) int {
	n := 0
	if c.Available {
		n++
	}
	for _, st := range []AssignState{Prechannel, Assigned, Moving} {
		each(s, tableAssignments, "broker_state", func(*Assignment) bool { n++; return true }, c.ID, string(st))
	}
	return n
}

// Available lists the available brokers of zone (their consuming
// connections), primary first.
func (s *Snapshot) Available(zone string) []Connection {
	return list[Connection](s, tableConnections, "zone_available", zone, string(Consume), true)
}

// Primary returns the primary broker of zone (see [Registry.Primary]).
func (s *Snapshot) Primary(zone string) (Connection, bool) {
	return one[Connection](s, tableConnections, "zone_available", zone, string(Consume), true)
}
