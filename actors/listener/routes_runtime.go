package listener

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// AddRoute adds a route to a running listener (Kazoo's
// gen_listener:add_responder): deliveries dispatched from then on see it.
// Routes added at run time last as long as this instance of the listener:
// a restart by its supervisor starts again from Spec.Handlers, as it
// replays Spec.Bindings. The reply is *RouteChanged.
type AddRoute struct{ Route Route }

// RemoveRoute removes every route of Category and Name from a running
// listener (Kazoo's gen_listener:rm_responder); compared as routes match
// (case, '_' and '-' aside; "*" or "" the wildcard). Handlers running keep
// running. The reply is *RouteChanged.
type RemoveRoute struct{ Category, Name string }

// RouteChanged answers AddRoute and RemoveRoute; Err is nil once the route
// table is changed.
type RouteChanged struct{ Err error }

// ErrNoRoute is wrapped by the error of a RemoveRoute of a category and
// name the listener has no route for.
var ErrNoRoute = errors.New("no route")

// changeRoutes carries out AddRoute and RemoveRoute, which the state
// machine has no part in: the actor, their only writer, stores a new route
// table that delivery goroutines load once per delivery. False for any
// other message.
func (l *listener) changeRoutes(ctx actor.Context) bool {
	s := l.shared
	var err error
	switch m := ctx.Message().(type) {
	case *AddRoute:
		if m.Route.Handler == nil {
			err = fmt.Errorf("warren: listener %s: route %s has no handler", s.spec.Name, m.Route)
			break
		}
		s.routes.Store(s.routes.Load().with(m.Route))
		l.log.Info("route added", "route", m.Route.String())
	case *RemoveRoute:
		r := Route{Category: m.Category, Name: m.Name}
		t, ok := s.routes.Load().without(m.Category, m.Name)
		if !ok {
			err = fmt.Errorf("warren: listener %s: %w %s", s.spec.Name, ErrNoRoute, r)
			break
		}
		s.routes.Store(t)
		l.log.Info("route removed", "route", r.String())
	default:
		return false
	}
	l.answer(ctx.Sender(), &RouteChanged{Err: err})
	return true
}
