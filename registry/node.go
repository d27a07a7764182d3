package registry

import (
	"time"

	"github.com/hashicorp/go-memdb"
)

// tableNodes holds one row per node of the installation heard on Kazoo's
// "nodes" exchange (Kazoo's kz_nodes ETS table), this node's own included.
const tableNodes = "nodes"

func nodesTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
}

// NodeKind says what software a node runs, from what its advertisement says.
type NodeKind string

const (
	NodeWarren NodeKind = "warren" // a Warren tree (App-Name "warren")
	NodeKazoo  NodeKind = "kazoo"  // anything else on the nodes exchange: Kazoo's kz_nodes
)

// Node is a row of the nodes table: one node's latest advertisement
// (kapi_nodes advertise), written by the tree's "nodes" actor only.
type Node struct {
	Name      string         `json:"name"` // its Node header: kazoo_apps@host, warren@host
	Zone      string         `json:"zone"`
	Version   string         `json:"version"`
	Kind      NodeKind       `json:"kind"`
	Apps      []string       `json:"apps"` // its WhApps' names, sorted
	Memory    int64          `json:"used_memory"`
	Processes int64          `json:"processes"`
	Broker    string         `json:"broker,omitempty"` // AMQP-Broker, credentials masked by the writer
	Self      bool           `json:"self"`             // this node's own advertisement
	Heard     time.Time      `json:"last_heard"`
	Expires   time.Time      `json:"expires"`         // forgotten then unless heard again (Expires × 1.25, as kz_nodes)
	Extra     map[string]any `json:"extra,omitempty"` // Channels, Registrations… as advertised, numbers only
}

// NodesWriter writes the nodes table. The tree hands it to its "nodes"
// actor only.
type NodesWriter struct{ r *Registry }

// PutNode inserts or replaces the row of node row.Name.
func (w NodesWriter) PutNode(row Node) error { return put(w.r, tableNodes, &row) }

// DeleteNode removes the row of node name.
func (w NodesWriter) DeleteNode(name string) error { return del(w.r, tableNodes, name) }

// Nodes lists every node heard and not yet expired, ordered by name.
func (r *Registry) Nodes() []Node { return r.Snapshot().Nodes() }

// Nodes lists every node heard and not yet expired, ordered by name.
func (s *Snapshot) Nodes() []Node { return list[Node](s, tableNodes, "id") }

// Node reads the row of node name.
func (s *Snapshot) Node(name string) (Node, bool) { return one[Node](s, tableNodes, "id", name) }
