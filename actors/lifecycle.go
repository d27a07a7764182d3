package actors

import (
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/registry"
)

// Lifecycle returns the receiver middleware every Warren actor carries: it
// keeps the actor's own row of the actors table (started, restarting,
// stopping, restart count) and deletes it when the actor stops. Each row is
// written by the actor it describes, on that actor's goroutine.
func (e *Env) Lifecycle(kind registry.ActorKind, strategy string) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			switch env.Message.(type) {
			case *actor.Started:
				e.markActor(c, kind, strategy, registry.Running, false)
			case *actor.Restarting:
				e.markActor(c, kind, strategy, registry.Restarting, true)
			case *actor.Stopping:
				e.markActor(c, kind, strategy, registry.Stopping, false)
			case *actor.Stopped:
				path := c.Self().Id
				_ = e.Actors.DeleteActor(path)
			}
			next(c, env)
		}
	}
}

func (e *Env) markActor(c actor.ReceiverContext, kind registry.ActorKind, strategy string, st registry.ActorStatus, restarted bool) {
	path := c.Self().Id
	parent := ""
	if p := c.Parent(); p != nil {
		parent = p.Id
	}
	_ = e.Actors.UpdateActor(path, func(row *registry.Actor, ok bool) bool {
		if !ok {
			*row = registry.Actor{Path: path, Parent: parent, Name: path[strings.LastIndex(path, "/")+1:], Kind: kind, Strategy: strategy}
		}
		row.Status = st
		if restarted {
			row.Restarts++
		}
		if st == registry.Running {
			row.Started = time.Now()
		}
		return true
	})
}

// SetDetail sets the short state line an actor shows in the tree.
func (e *Env) SetDetail(self *actor.PID, detail string) {
	_ = e.Actors.UpdateActor(self.Id, func(row *registry.Actor, ok bool) bool {
		if !ok || row.Detail == detail {
			return false
		}
		row.Detail = detail
		return true
	})
}
