package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
)

// tableWorkers holds one row per RPC worker actor.
const tableWorkers = "workers"

func workersTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableWorkers, Indexes: map[string]*memdb.IndexSchema{
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
	Pool     string      `json:"pool"`  // its pool's name: "workers", "workers@<zone>", or one added at run time
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

// WorkersWriter writes the workers table: each RPC worker its own row. The
// tree hands it over in actors.Env.
type WorkersWriter struct{ r *Registry }

// PutWorker inserts or replaces a worker row.
func (w WorkersWriter) PutWorker(row RPCWorker) error { return put(w.r, tableWorkers, &row) }

// DeleteWorker removes a worker row.
func (w WorkersWriter) DeleteWorker(path string) error { return del(w.r, tableWorkers, path) }

// Workers lists every RPC worker, ordered by path.
func (r *Registry) Workers() []RPCWorker { return r.Snapshot().Workers() }

// Workers lists every RPC worker, ordered by path.
func (s *Snapshot) Workers() []RPCWorker { return list[RPCWorker](s, tableWorkers, "id") }
