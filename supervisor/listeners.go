package supervisor

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
)

// SpawnListener starts a listener under the tree's listeners supervisor
// (simple_one_for_one: restarted when it fails). Its path is
// "warren/listeners/<spec.Name>". To place a listener under an actor of
// your own, spawn listener.Props(tree.Env(), spec) there instead.
func (t *Tree) SpawnListener(ctx context.Context, spec listener.Spec) (*actor.PID, error) {
	props, err := listener.Props(t.env, spec)
	if err != nil {
		return nil, err
	}
	res, err := t.request(ctx, t.PID(actors.ListenersName), &actors.SpawnChild{Name: spec.Name, Props: props})
	if err != nil {
		return nil, fmt.Errorf("warren: spawn listener %s: %w", spec.Name, err)
	}
	r := res.(*actors.ChildSpawned)
	return r.PID, r.Err
}

// StopListener stops a listener started with SpawnListener.
func (t *Tree) StopListener(ctx context.Context, name string) error {
	res, err := t.request(ctx, t.PID(actors.ListenersName), &actors.StopChild{Name: name})
	if err != nil {
		return err
	}
	return res.(*actors.ChildStopped).Err
}

// AddBinding binds a running listener's queue; the binding is replayed on
// every reconnect.
func (t *Tree) AddBinding(ctx context.Context, pid *actor.PID, b listener.Binding) error {
	res, err := t.request(ctx, pid, &listener.AddBinding{Binding: b})
	if err != nil {
		return err
	}
	return res.(*listener.BindingChanged).Err
}

// RemoveBinding unbinds a running listener's queue and forgets the binding.
func (t *Tree) RemoveBinding(ctx context.Context, pid *actor.PID, b listener.Binding) error {
	res, err := t.request(ctx, pid, &listener.RemoveBinding{Binding: b})
	if err != nil {
		return err
	}
	return res.(*listener.BindingChanged).Err
}
