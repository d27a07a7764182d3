package registry

import (
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"
)

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

// ActorsWriter writes the actors table. The tree hands it to the lifecycle
// middleware every Warren actor carries (actors.Env.Lifecycle), which
// writes each actor's own row on that actor's goroutine.
type ActorsWriter struct{ r *Registry }

// PutActor inserts or replaces an actors row.
func (w ActorsWriter) PutActor(a Actor) error { return put(w.r, tableActors, &a) }

// DeleteActor removes an actors row.
func (w ActorsWriter) DeleteActor(path string) error { return del(w.r, tableActors, path) }

// UpdateActor reads the row of path and, when change returns true, writes
// the row it changed, in one transaction. change gets the zero Actor and
// false when there is no such row. change may run more than once (when a
// shared transaction is abandoned: see writeGrouped), and must only change
// a.
func (w ActorsWriter) UpdateActor(path string, change func(a *Actor, found bool) bool) error {
	return w.r.writeGrouped(func(txn *memdb.Txn) error {
		row, ok := firstIn[Actor](txn, tableActors, path)
		if !change(&row, ok) {
			return nil
		}
		return insert(txn, tableActors, &row)
	})
}

// Actors lists every actor, ordered by path.
func (r *Registry) Actors() []Actor { return r.Snapshot().Actors() }

// Actor returns the row of path.
func (r *Registry) Actor(path string) (Actor, bool) { return r.Snapshot().Actor(path) }

// Actors lists every actor, ordered by path.
func (s *Snapshot) Actors() []Actor { return list[Actor](s, tableActors, "id") }

// Actor returns the row of path.
func (s *Snapshot) Actor(path string) (Actor, bool) { return one[Actor](s, tableActors, "id", path) }

// ActorsUnder lists the paths of path and of every actor below it (whose
// path starts with path + "/"), ordered.
func (s *Snapshot) ActorsUnder(path string) []string {
	var out []string
	each(s, tableActors, "id_prefix", func(a *Actor) bool {
		if a.Path == path || strings.HasPrefix(a.Path, path+"/") {
			out = append(out, a.Path)
		}
		return true
	}, path)
	return out
}
