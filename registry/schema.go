package registry

import "github.com/hashicorp/go-memdb"

// Table names.
const (
	tableConnections = "connections"
	tableAssignments = "assignments"
	tableActors      = "actors"
)

// tables maps each table name to its schema: every table of Warren, in one
// place (each table's rows and accessors live in a file named after it).
var tables = map[string]func() *memdb.TableSchema{
	tableConnections: connectionsTable,
	tableAssignments: assignmentsTable,
	tableActors:      actorsTable,
	tableListeners:   listenersTable,
	tablePublishers:  publishersTable,
	tableWorkers:     workersTable,
	tableNodes:       nodesTable,
	tableTopology:    topologyTable,
}

// schema returns the go-memdb schema of every Warren table.
func schema() *memdb.DBSchema {
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for name, table := range tables {
		s.Tables[name] = table()
	}
	return s
}

func connectionsTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableConnections, Indexes: map[string]*memdb.IndexSchema{
		"id":   {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"zone": {Name: "zone", Indexer: &memdb.StringFieldIndex{Field: "Zone"}},
		// zone_available orders the available connections of a zone and
		// role by ID: the first consuming one is the zone's primary broker.
		"zone_available": {Name: "zone_available", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Zone"},
			&memdb.StringFieldIndex{Field: "Role"},
			&memdb.BoolFieldIndex{Field: "Available"},
		}}},
	}}
}

func assignmentsTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableAssignments, Indexes: map[string]*memdb.IndexSchema{
		"id":       {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"consumer": {Name: "consumer", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Consumer"}},
		"broker_state": {Name: "broker_state", AllowMissing: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Broker"},
			&memdb.StringFieldIndex{Field: "State"},
		}}},
	}}
}

func actorsTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableActors, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Path"}},
	}}
}
