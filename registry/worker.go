package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
)

// TableWorkers holds one row per RPC worker actor.
const TableWorkers = "workers"

func workersTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: TableWorkers, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Path"}},
	}}
}

// WorkerState is the state of an RPC worker.
type WorkerState string

const (
	WorkerWaiting   WorkerState = "waiting" // no channel, or declaring its reply queue
	WorkerReady     WorkerState = "ready"   // replies can reach it
	WorkerReconnect WorkerState = "reconnecting"
)

// RPCWorker is a row of the workers table, written by the worker it describes.
type RPCWorker struct {
	Path     string      `json:"path"`
	Name     string      `json:"name"`
	Queue    string      `json:"queue"` // its reply queue, bound to "targeted" with its own name (the Server-ID it sends)
	Broker   string      `json:"broker"`
	Channel  string      `json:"channel"`
	State    WorkerState `json:"state"`
	Since    time.Time   `json:"since"`
	Busy     int64       `json:"busy"`     // calls waiting for replies now
	Calls    uint64      `json:"calls"`    // calls and call_collects made
	Replies  uint64      `json:"replies"`  // replies delivered to a waiting call
	Timeouts uint64      `json:"timeouts"` // calls that ended without (enough) replies
	Late     uint64      `json:"late"`     // replies nobody waited for any more, dropped
	Errors   uint64      `json:"errors"`   // calls that could not be published
	MeanMs   float64     `json:"mean_ms"`  // mean time of the calls that got all they waited for, in ms (0 before the first)
}

// PutWorker inserts or replaces a worker row.
func (w *Writer) PutWorker(r RPCWorker) error { return w.insert(TableWorkers, &r) }

// DeleteWorker removes a worker row.
func (w *Writer) DeleteWorker(path string) error { return w.delete(TableWorkers, path) }

// Workers lists every RPC worker, ordered by path.
func (r *Registry) Workers() []RPCWorker { return collect[RPCWorker](r.read().Get(TableWorkers, "id")) }
