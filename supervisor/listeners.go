package supervisor

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
)

// SpawnListener starts a listener under the tree's listeners supervisor
// (simple_one_for_one: restarted when it fails). Its path is
// "warren/listeners/<spec.Name>". To place a listener under an actor of
// your own, spawn actors.NewListenerProps(tree.Env(), spec) there instead.
func (t *Tree) SpawnListener(ctx context.Context, spec actors.ListenerSpec) (*actor.PID, error) {
	props, err := actors.NewListenerProps(t.env, spec)
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
func (t *Tree) AddBinding(ctx context.Context, listener *actor.PID, b actors.Binding) error {
	res, err := t.request(ctx, listener, &actors.AddBinding{Binding: b})
	if err != nil {
		return err
	}
	return res.(*actors.BindingChanged).Err
}

// RemoveBinding unbinds a running listener's queue and forgets the binding.
func (t *Tree) RemoveBinding(ctx context.Context, listener *actor.PID, b actors.Binding) error {
	res, err := t.request(ctx, listener, &actors.RemoveBinding{Binding: b})
	if err != nil {
		return err
	}
	return res.(*actors.BindingChanged).Err
}
