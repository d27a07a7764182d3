package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
)

// tablePublishers holds one row per publisher actor of the publishers pool.
// Each row is written by the publisher actor it describes, nobody else:
// on every state change and, when its counters moved, at most every 250ms.
const tablePublishers = "publishers"

func publishersTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tablePublishers, Indexes: map[string]*memdb.IndexSchema{
		"id":    {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"state": {Name: "state", Indexer: &memdb.StringFieldIndex{Field: "State"}},
	}}
}

// PublisherState is the state of one publisher: ready when both its
// channels are, blocked when either is blocked, else waiting.
type PublisherState string

// Publisher states. A publisher waits for a channel (and for confirm mode
// on it), is ready to publish, or holds a channel whose connection the
// broker blocked (connection.blocked: a memory or disk alarm).
const (
	PublisherWaiting PublisherState = "waiting"
	PublisherReady   PublisherState = "ready"
	PublisherBlocked PublisherState = "blocked"
)

func (s PublisherState) String() string { return string(s) }

// Publisher is a row of the publishers table: one publisher actor and the
// counters of the publishes that went through its two channels (one in
// confirm mode, one plain for fire-and-forget publishes).
type Publisher struct {
	ID           string         `json:"id"`            // actor path, e.g. "warren/publishers/publishers-1"
	Pool         string         `json:"pool"`          // its pool's name: "publishers", "publishers@<zone>", or one added at run time
	Zone         string         `json:"zone"`          // zone its channels come from
	Broker       string         `json:"broker"`        // broker id of its channel; empty while waiting
	Channel      string         `json:"channel"`       // confirm-mode channel id "<broker>#<n>"; empty while waiting
	PlainChannel string         `json:"plain_channel"` // channel id of fire-and-forget publishes; empty while waiting
	State        PublisherState `json:"state"`         //
	Since        time.Time      `json:"since"`         // time of the last state change
	Published    uint64         `json:"published"`     // publishes written to the channel
	Confirmed    uint64         `json:"confirmed"`     // acked by the broker (confirmed mode)
	Nacked       uint64         `json:"nacked"`        // nacked by the broker
	Returned     uint64         `json:"returned"`      // returned as unroutable (mandatory)
	Unconfirmed  uint64         `json:"unconfirmed"`   // no ack: caller gave up, or no resend could go out in time
	Resent       uint64         `json:"resent"`        // confirmed publishes written again, their channel lost before the ack
	Buffered     int64          `json:"buffered"`      // callers waiting for a usable channel now
	Dropped      uint64         `json:"dropped"`       // refused: buffer full, or waited too long
	InFlight     int64          `json:"in_flight"`     // confirmed publishes waiting for their confirm now
	// PlainClosed counts the fire-and-forget channels the broker closed
	// with an error (406 on a message over its max_message_size, say): the
	// publishes written on one after the cause are lost, untold.
	PlainClosed uint64 `json:"plain_closed"`
	// ConfirmMeanMs is the mean time from write to the broker's ack of the
	// acked publishes, in milliseconds (0 before the first).
	ConfirmMeanMs float64 `json:"confirm_mean_ms"`
}

// PublishersWriter writes the publishers table: each publisher actor its
// own row. The tree hands it over in actors.Env.
type PublishersWriter struct{ r *Registry }

// PutPublisher inserts or replaces a publishers row.
func (w PublishersWriter) PutPublisher(p Publisher) error { return put(w.r, tablePublishers, &p) }

// DeletePublisher removes a publishers row.
func (w PublishersWriter) DeletePublisher(id string) error { return del(w.r, tablePublishers, id) }

// Publishers lists every publisher, ordered by actor path.
func (r *Registry) Publishers() []Publisher { return r.Snapshot().Publishers() }

// Publisher returns the row of the publisher actor at path.
func (r *Registry) Publisher(path string) (Publisher, bool) { return r.Snapshot().Publisher(path) }

// Publishers lists every publisher, ordered by actor path.
func (s *Snapshot) Publishers() []Publisher { return list[Publisher](s, tablePublishers, "id") }

// Publisher returns the row of the publisher actor at path.
func (s *Snapshot) Publisher(path string) (Publisher, bool) {
	return one[Publisher](s, tablePublishers, "id", path)
}
