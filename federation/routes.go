package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/warrenmq/warren/actors/listener"
)

// Route applies a route change made at run time on the listener name (a
// *listener.AddRoute or *listener.RemoveRoute) to its federators, and
// records it in name's spec for the federators to come, as Binding does
// for bindings. It returns what each running federator answered, joined.
func (f *Federators) Route(ctx context.Context, name string, change any) error {
	f.mu.Lock()
	spec, ok := f.parents[name]
	if !ok {
		f.mu.Unlock()
		return nil
	}
	switch m := change.(type) {
	case *listener.AddRoute:
		spec.Handlers = append(slices.Clip(spec.Handlers), m.Route)
	case *listener.RemoveRoute:
		spec.Handlers = slices.DeleteFunc(slices.Clone(spec.Handlers), func(r listener.Route) bool { return r.Is(m.Category, m.Name) })
	default:
		f.mu.Unlock()
		return fmt.Errorf("warren: federation: %T is not a route change", change)
	}
	f.parents[name] = spec
	pids := f.federatorsOf(name)
	f.mu.Unlock()
	var errs []error
	for _, pid := range pids {
		res, err := f.env.System.Root.RequestFuture(pid, change, deadline(ctx)).Result()
		if err == nil {
			err = res.(*listener.RouteChanged).Err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("federator %s: %w", pid.Id, err))
		}
	}
	return errors.Join(errs...)
}
