package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
	amqp "github.com/rabbitmq/amqp091-go"
)

// ChannelType says where a consumer's channel may live.
type ChannelType string

const (
	// Float channels live on any available broker of the consumer's zone,
	// the primary first, and move when their broker goes down.
	Float ChannelType = "float"
	// Sticky channels live on one named broker only and wait for it.
	Sticky ChannelType = "sticky"
)

// AssignState is the state of an assignments row.
type AssignState string

const (
	// Prechannel rows are open channels with no consumer yet.
	Prechannel AssignState = "prechannel"
	// Waiting rows are consumers that asked for a channel and have none yet.
	Waiting AssignState = "waiting"
	// Assigned rows are consumers with a channel.
	Assigned AssignState = "assigned"
	// Reconnecting rows are consumers that lost their channel and wait for a new one.
	Reconnecting AssignState = "reconnecting"
	// Moving rows are channels a consumer moved off (a drained broker's,
	// see ChannelAssigned.MovedFrom) and still holds until it releases
	// them; keyed by the channel's id. The consumer's own row is the one
	// keyed by its path.
	Moving AssignState = "moving"
)

// Assignment is a row of the assignments table: a prechannel, or a consumer
// with its channel (or waiting for one).
type Assignment struct {
	ID         string      `json:"row"`         // row key: the consumer's path, or the channel id of a prechannel or of a Moving row
	Channel    string      `json:"id"`          // channel id "<broker>#<n>"; empty while waiting
	Consumer   string      `json:"consumer"`    // consumer actor path; empty for prechannels
	App        string      `json:"app"`         // application name of the consumer
	Type       ChannelType `json:"type"`        //
	Broker     string      `json:"broker"`      // connection id (the broker id, "~publish" appended for publishing); empty while a float waits
	Role       ConnRole    `json:"role"`        // the connection role the consumer asked for
	Zone       string      `json:"zone"`        //
	State      AssignState `json:"state"`       //
	Created    time.Time   `json:"created"`     //
	AssignedAt time.Time   `json:"assigned_at"` // zero until assigned
	Reconnect  bool        `json:"reconnect"`   // this assignment replaces a lost channel
	CanMove    bool        `json:"can_move"`    // the consumer understands moves (RequestChannel.CanMove)
	// Reason says why a waiting consumer has no channel yet when Warren
	// knows ("no channel left on broker X: channel_max N reached"); empty
	// otherwise.
	Reason string `json:"reason,omitempty"`
	// Tag is the broker tag the consumer asked for (RequestChannel.Tag).
	Tag      string        `json:"tag,omitempty"`
	Watchers int           `json:"watchers"` // callers blocked in WaitAssigned (filled on read)
	AMQP     *amqp.Channel `json:"-"`        // the channel itself; owned by the consumer once assigned
}

// AssignmentsWriter writes the assignments table. The tree hands the only
// one to the assignments actor.
type AssignmentsWriter struct{ r *Registry }

// Write runs fn in one write transaction of the assignments table and
// commits it when fn returns nil.
func (w AssignmentsWriter) Write(fn func(tx *AssignmentsTx) error) error {
	return w.r.write(func(txn *memdb.Txn) error { return fn(&AssignmentsTx{txn}) })
}

// AssignmentsTx is a write transaction of the assignments table, handed to
// the function given to [AssignmentsWriter.Write]. It must not be kept
// after that function returns.
type AssignmentsTx struct{ txn *memdb.Txn }

// PutAssignment inserts or replaces an assignments row.
func (tx *AssignmentsTx) PutAssignment(a Assignment) error {
	a.Watchers = 0
	return insert(tx.txn, tableAssignments, &a)
}

// DeleteAssignment removes an assignments row.
func (tx *AssignmentsTx) DeleteAssignment(id string) error {
	return remove(tx.txn, tableAssignments, id)
}

// AssignmentRow reads a row inside the transaction, for read-modify-write.
func (tx *AssignmentsTx) AssignmentRow(id string) (Assignment, bool) {
	return firstIn[Assignment](tx.txn, tableAssignments, id)
}

// Assignments lists every row, ordered by row key, with Watchers filled in.
func (r *Registry) Assignments() []Assignment { return r.Snapshot().Assignments() }

// AssignmentOf returns the row of consumer: the one keyed by its path, not
// the Moving rows of channels it moved off.
func (r *Registry) AssignmentOf(consumer string) (Assignment, bool) {
	return r.Snapshot().AssignmentOf(consumer)
}

// HeldFloats lists the rows of float channels a consumer holds on the
// connections ids: Assigned floats and Moving rows.
func (r *Registry) HeldFloats(ids ...string) []Assignment { return r.Snapshot().HeldFloats(ids...) }

// Prechannels lists the unassigned channels of broker.
func (r *Registry) Prechannels(broker string) []Assignment { return r.Snapshot().Prechannels(broker) }

// AssignmentsOn lists the rows of broker in state.
func (r *Registry) AssignmentsOn(broker string, state AssignState) []Assignment {
	return r.Snapshot().AssignmentsOn(broker, state)
}

// AssignmentsIn lists the rows in state, ordered by row key. It scans the
// table: no hot path asks, and an index would cost every row memory.
func (r *Registry) AssignmentsIn(state AssignState) []Assignment {
	return r.Snapshot().AssignmentsIn(state)
}

// Assignments lists every row, ordered by row key, with Watchers filled in
// (a wait wakes on a change of those counts too).
func (s *Snapshot) Assignments() []Assignment {
	rows := list[Assignment](s, tableAssignments, "id")
	watchers, ch := s.r.watchersOf()
	s.ws.Add(ch)
	for i := range rows {
		rows[i].Watchers = watchers[rows[i].Consumer]
	}
	return rows
}

// AssignmentOf returns the row of consumer (see [Registry.AssignmentOf]).
func (s *Snapshot) AssignmentOf(consumer string) (Assignment, bool) {
	return one[Assignment](s, tableAssignments, "id", consumer)
}

// HeldFloats lists the rows of float channels a consumer holds on the
// connections ids (see [Registry.HeldFloats]).
func (s *Snapshot) HeldFloats(ids ...string) []Assignment {
	var out []Assignment
	for _, id := range ids {
		for _, st := range []AssignState{Assigned, Moving} {
			each(s, tableAssignments, "broker_state", func(a *Assignment) bool {
				if a.Type != Sticky {
					out = append(out, *a)
				}
				return true
			}, id, string(st))
		}
	}
	return out
}

// Prechannels lists the unassigned channels of broker.
func (s *Snapshot) Prechannels(broker string) []Assignment {
	return s.AssignmentsOn(broker, Prechannel)
}

// AssignmentsOn lists the rows of broker in state.
func (s *Snapshot) AssignmentsOn(broker string, state AssignState) []Assignment {
	return list[Assignment](s, tableAssignments, "broker_state", broker, string(state))
}

// AssignmentsIn lists the rows in state, ordered by row key (a scan).
func (s *Snapshot) AssignmentsIn(state AssignState) []Assignment {
	var out []Assignment
	each(s, tableAssignments, "id", func(a *Assignment) bool {
		if a.State == state {
			out = append(out, *a)
		}
		return true
	})
	return out
}
