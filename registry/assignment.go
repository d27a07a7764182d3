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
	Reason   string        `json:"reason,omitempty"`
	Watchers int           `json:"watchers"` // callers blocked in WaitAssigned (filled on read)
	AMQP     *amqp.Channel `json:"-"`        // the channel itself; owned by the consumer once assigned
}

// PutAssignment inserts or replaces an assignments row.
func (w *Writer) PutAssignment(a Assignment) error {
	a.Watchers = 0
	return w.insert(TableAssignments, &a)
}

// DeleteAssignment removes an assignments row.
func (w *Writer) DeleteAssignment(id string) error { return w.delete(TableAssignments, id) }

// Assignments lists every row, ordered by row key, with Watchers filled in.
func (r *Registry) Assignments() []Assignment {
	rows := collect[Assignment](r.read().Get(TableAssignments, "id"))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range rows {
		rows[i].Watchers = r.watchers[rows[i].Consumer]
	}
	return rows
}

// AssignmentOf returns the row of consumer: the one keyed by its path, not
// the Moving rows of channels it moved off.
func (r *Registry) AssignmentOf(consumer string) (Assignment, bool) {
	return first[Assignment](r.read().First(TableAssignments, "id", consumer))
}

// HeldFloats lists the rows of float channels a consumer holds on the
// connections ids: Assigned floats and Moving rows.
func (r *Registry) HeldFloats(ids ...string) []Assignment {
	rows, _ := heldFloats(r.read(), nil, ids)
	return rows
}

// heldFloats reads HeldFloats' rows in txn, adding the watch channels of
// the index ranges it read to ws (when not nil).
func heldFloats(txn *memdb.Txn, ws memdb.WatchSet, ids []string) ([]Assignment, error) {
	var out []Assignment
	for _, id := range ids {
		for _, st := range []AssignState{Assigned, Moving} {
			it, err := txn.Get(TableAssignments, "broker_state", id, string(st))
			if err != nil {
				return nil, err
			}
			if ws != nil {
				ws.Add(it.WatchCh())
			}
			for raw := it.Next(); raw != nil; raw = it.Next() {
				if a := raw.(*Assignment); a.Type != Sticky {
					out = append(out, *a)
				}
			}
		}
	}
	return out, nil
}

// Prechannels lists the unassigned channels of broker.
func (r *Registry) Prechannels(broker string) []Assignment {
	return collect[Assignment](r.read().Get(TableAssignments, "broker_state", broker, string(Prechannel)))
}

// AssignmentsOn lists the rows of broker in state.
func (r *Registry) AssignmentsOn(broker string, state AssignState) []Assignment {
	return collect[Assignment](r.read().Get(TableAssignments, "broker_state", broker, string(state)))
}

// AssignmentsIn lists the rows in state, ordered by row key. It scans the
// table: no hot path asks, and an index would cost every row memory.
func (r *Registry) AssignmentsIn(state AssignState) []Assignment {
	var out []Assignment
	for _, a := range collect[Assignment](r.read().Get(TableAssignments, "id")) {
		if a.State == state {
			out = append(out, a)
		}
	}
	return out
}
