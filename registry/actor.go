package registry

import "time"

// ActorKind tells supervisors from workers.
type ActorKind string

const (
	Supervisor ActorKind = "supervisor"
	Worker     ActorKind = "worker"
)

// ActorStatus is the lifecycle status of an actor.
type ActorStatus string

const (
	Running    ActorStatus = "running"
	Restarting ActorStatus = "restarting"
	Stopping   ActorStatus = "stopping"
)

// Actor is a row of the actors table: one live actor of the Warren tree.
// Rows leave the table when their actor stops.
type Actor struct {
	Path     string      `json:"path"`     // protoactor PID id, e.g. "warren/connection_sup"
	Parent   string      `json:"parent"`   // parent's path; empty for the root
	Name     string      `json:"name"`     // last element of Path
	Kind     ActorKind   `json:"kind"`     //
	Strategy string      `json:"strategy"` // restart strategy of a supervisor, e.g. "one_for_one 5/10s"
	Restarts int         `json:"restarts"` // times this actor was restarted by its supervisor
	Status   ActorStatus `json:"status"`   //
	Started  time.Time   `json:"started"`  // time of the last (re)start
	Detail   string      `json:"detail"`   // short state line set by the actor (e.g. bootstrap's)
}

// PutActor inserts or replaces an actors row.
func (w *Writer) PutActor(a Actor) error { return w.insert(TableActors, &a) }

// DeleteActor removes an actors row.
func (w *Writer) DeleteActor(path string) error { return w.delete(TableActors, path) }

// Actors lists every actor, ordered by path.
func (r *Registry) Actors() []Actor { return collect[Actor](r.read().Get(TableActors, "id")) }

// Actor returns the row of path.
func (r *Registry) Actor(path string) (Actor, bool) {
	return first[Actor](r.read().First(TableActors, "id", path))
}

// ActorRow reads a row inside a write transaction, for read-modify-write.
func (w *Writer) ActorRow(path string) (Actor, bool) {
	return first[Actor](w.txn.First(TableActors, "id", path))
}

// ConnectionRow reads a row inside a write transaction.
func (w *Writer) ConnectionRow(id string) (Connection, bool) {
	return first[Connection](w.txn.First(TableConnections, "id", id))
}

// AssignmentRow reads a row inside a write transaction.
func (w *Writer) AssignmentRow(id string) (Assignment, bool) {
	return first[Assignment](w.txn.First(TableAssignments, "id", id))
}
