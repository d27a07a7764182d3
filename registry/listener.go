package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
)

// tableListeners holds one row per listener actor.
const tableListeners = "listeners"

func listenersTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableListeners, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Path"}},
		// A federator's listener (Parent): stopping one listener finds its
		// federators without reading every row.
		"parent": {Name: "parent", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Parent"}},
	}}
}

// ListenerState is the state of a listener.
type ListenerState string

const (
	ListenerWaiting      ListenerState = "waiting"      // no channel yet
	ListenerDeclaring    ListenerState = "declaring"    // replaying its topology on a channel
	ListenerConsuming    ListenerState = "consuming"    //
	ListenerReconnecting ListenerState = "reconnecting" // lost its channel, waiting for another
	ListenerFailed       ListenerState = "failed"       // the broker refused its topology several times in a row, or once for a conflict with what exists (406); still retried
	ListenerDraining     ListenerState = "draining"     // cancelled its consumer; running handlers finish (Drain)
	ListenerDrained      ListenerState = "drained"      // drained: nothing consumes, no handler runs; it waits to be stopped
)

// Listener is a row of the listeners table. Each row is written by the
// listener it describes.
type Listener struct {
	Path         string        `json:"path"`
	Name         string        `json:"name"`
	Queue        string        `json:"queue"`    // the queue name (chosen once when the spec names none)
	Bindings     []string      `json:"bindings"` // "exchange/routing-key"
	ConsumerTag  string        `json:"consumer_tag"`
	Broker       string        `json:"broker"`
	Zone         string        `json:"zone"`   // the zone of its channel's broker
	Parent       string        `json:"parent"` // a federator's listener (its name); empty for a listener
	Channel      string        `json:"channel"`
	State        ListenerState `json:"state"`
	Since        time.Time     `json:"since"`
	LastError    string        `json:"last_error"`
	Received     uint64        `json:"received"`
	Acked        uint64        `json:"acked"`     // handled (or unhandled events), acked
	Nacked       uint64        `json:"nacked"`    // nacked, with requeue or without
	Rejected     uint64        `json:"rejected"`  // payloads no handler can read (malformed JSON, non-JSON without a raw handler): rejected or dead-lettered
	Unhandled    uint64        `json:"unhandled"` // JSON events no route matched (acked)
	Errors       uint64        `json:"errors"`    // deliveries whose handler failed for good (error or panic, after retries)
	Stale        uint64        `json:"stale"`     // acks dropped: their channel was replaced
	InFlight     int64         `json:"in_flight"`
	Retried      uint64        `json:"retried"`       // handler runs again after a failure (the listener's retry policy)
	DeadLettered uint64        `json:"dead_lettered"` // published to the dead-letter exchange or error queue, confirmed, then acked
	Requeued     uint64        `json:"requeued"`      // given back to the queue: unstarted at a drain or a move, failed while the listener stopped, OnError Requeue (those two also in Nacked)
	Duplicates   uint64        `json:"duplicates"`    // acked without running the handler: handled successfully already (dedup)
	// RepliesReturned counts replies (Delivery.Reply, ReplyRaw) the broker
	// returned: no queue took them (the requester's reply queue is gone).
	RepliesReturned uint64 `json:"replies_returned"`
}

// ListenersWriter writes the listeners table: each listener its own row.
// The tree hands it over in actors.Env.
type ListenersWriter struct{ r *Registry }

// PutListener inserts or replaces a listener row.
func (w ListenersWriter) PutListener(l Listener) error { return put(w.r, tableListeners, &l) }

// DeleteListener removes a listener row.
func (w ListenersWriter) DeleteListener(path string) error { return del(w.r, tableListeners, path) }

// Listeners lists every listener, ordered by path.
func (r *Registry) Listeners() []Listener { return r.Snapshot().Listeners() }

// Listener returns the row of the listener at path.
func (r *Registry) Listener(path string) (Listener, bool) { return r.Snapshot().Listener(path) }

// Listeners lists every listener, ordered by path.
func (s *Snapshot) Listeners() []Listener { return list[Listener](s, tableListeners, "id") }

// Listener returns the row of the listener at path.
func (s *Snapshot) Listener(path string) (Listener, bool) {
	return one[Listener](s, tableListeners, "id", path)
}

// Federators lists the rows of the federators of the listener named
// parent (Listener.Parent), ordered by path.
func (s *Snapshot) Federators(parent string) []Listener {
	if parent == "" {
		return nil // the index holds no empty Parent
	}
	return list[Listener](s, tableListeners, "parent", parent)
}

// CountListeners counts the listeners in state, reading the rows in place
// (a thousand listeners cost no copy).
func (s *Snapshot) CountListeners(state ListenerState) int {
	n := 0
	each(s, tableListeners, "id", func(l *Listener) bool {
		if l.State == state {
			n++
		}
		return true
	})
	return n
}
