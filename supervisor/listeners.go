package supervisor

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// SpawnListener starts a listener under the tree's listeners supervisor
// (simple_one_for_one: restarted when it fails). Its path is
// "warren/listeners/<spec.Name>". To place a listener under an actor of
// your own, spawn listener.Props(tree.Env(), spec) there instead. A spec
// without a Prefetch takes Config.Prefetch ([amqp] prefetch).
func (t *Tree) SpawnListener(ctx context.Context, spec listener.Spec) (*actor.PID, error) {
	if spec.Prefetch == 0 {
		spec.Prefetch = t.prefetch // 0 too: listener.DefaultPrefetch
	}
	props, err := listener.Props(t.env, spec)
	if err != nil {
		return nil, err
	}
	res, err := t.request(ctx, t.PID(actors.ListenersName), &actors.SpawnChild{Name: spec.Name, Props: props})
	if err != nil {
		return nil, fmt.Errorf("warren: spawn listener %s: %w", spec.Name, err)
	}
	r := res.(*actors.ChildSpawned)
	if r.Err == nil && spec.Federate {
		t.fed.Add(spec)
	}
	return r.PID, r.Err
}

// StopListener stops a listener started with SpawnListener, and its
// federators, after draining them as Shutdown does (Config.DrainTimeout,
// or earlier when ctx ends sooner): no delivery is lost or handled twice.
// The error wraps ErrDrainCut when handlers had to be cancelled.
func (t *Tree) StopListener(ctx context.Context, name string) error {
	drainErr := t.drainListeners(ctx, t.listenerAndFederators(name))
	t.fed.Remove(name) // its federators stop with it
	res, err := t.request(ctx, t.PID(actors.ListenersName), &actors.StopChild{Name: name})
	if err != nil {
		return errors.Join(drainErr, err)
	}
	return errors.Join(drainErr, res.(*actors.ChildStopped).Err)
}

// AddBinding binds a running listener's queue; the binding is replayed on
// every reconnect. A federated listener's federators get it too (an error
// of theirs is joined to the result, each named).
func (t *Tree) AddBinding(ctx context.Context, pid *actor.PID, b listener.Binding) error {
	return t.changeBinding(ctx, pid, b, true)
}

// RemoveBinding unbinds a running listener's queue and forgets the binding
// (on its federators too).
func (t *Tree) RemoveBinding(ctx context.Context, pid *actor.PID, b listener.Binding) error {
	return t.changeBinding(ctx, pid, b, false)
}

func (t *Tree) changeBinding(ctx context.Context, pid *actor.PID, b listener.Binding, add bool) error {
	var msg any = &listener.RemoveBinding{Binding: b}
	if add {
		msg = &listener.AddBinding{Binding: b}
	}
	res, err := t.request(ctx, pid, msg)
	if err != nil {
		return err
	}
	if err := res.(*listener.BindingChanged).Err; err != nil {
		return err
	}
	return t.fed.Binding(ctx, path.Base(pid.Id), b, add)
}

// AddRoute adds a route to a running listener (Kazoo's add_responder):
// deliveries dispatched after it returns see it. A federated listener's
// federators get it too (an error of theirs is joined to the result, each
// named), and so do those spawned later. It lasts as long as the
// listener's instance: a restart starts again from Spec.Handlers.
func (t *Tree) AddRoute(ctx context.Context, pid *actor.PID, r listener.Route) error {
	return t.changeRoute(ctx, pid, &listener.AddRoute{Route: r})
}

// RemoveRoute removes every route of category and name from a running
// listener and its federators (Kazoo's rm_responder); the error wraps
// listener.ErrNoRoute when it has none.
func (t *Tree) RemoveRoute(ctx context.Context, pid *actor.PID, category, name string) error {
	return t.changeRoute(ctx, pid, &listener.RemoveRoute{Category: category, Name: name})
}

func (t *Tree) changeRoute(ctx context.Context, pid *actor.PID, msg any) error {
	res, err := t.request(ctx, pid, msg)
	if err != nil {
		return fmt.Errorf("warren: listener %s: route change: %w", pid.Id, err)
	}
	if err := res.(*listener.RouteChanged).Err; err != nil {
		return err
	}
	return t.fed.Route(ctx, path.Base(pid.Id), msg)
}

// Federators lists the rows of the federators of the listener name (one
// per broker of the other zones; see listener.Spec.Federate).
func (t *Tree) Federators(name string) []registry.Listener {
	return t.env.Registry.Snapshot().Federators(name)
}

// WaitConsuming waits until the listener pid (from SpawnListener, or one
// spawned from listener.Props anywhere) consumes from its queue: its queue
// is declared and bound, so a message published now reaches it. It fails
// at once when the listener's row says failed (with the broker's reason),
// and when ctx ends with the listener's state and last error.
func (t *Tree) WaitConsuming(ctx context.Context, pid *actor.PID) error {
	var row registry.Listener
	var failed error
	err := t.env.Registry.Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		var ok bool
		if row, ok = s.Listener(pid.Id); !ok {
			return false, nil
		}
		if row.State == registry.ListenerFailed {
			failed = fmt.Errorf("warren: listener %s failed: %s", row.Name, row.LastError)
			return false, failed
		}
		return row.State == registry.ListenerConsuming, nil
	})
	if err == nil || err == failed {
		return err
	}
	if row.Path == "" {
		return fmt.Errorf("warren: listener %s: no such listener: %w", pid.Id, err)
	}
	why := ""
	if row.LastError != "" {
		why = ", last error: " + row.LastError
	}
	return fmt.Errorf("warren: listener %s not consuming (state %s%s): %w", row.Name, row.State, why, err)
}
