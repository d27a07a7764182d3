package federation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// requestTimeout bounds one spawn or stop asked of the federated listeners
// supervisor.
const requestTimeout = 10 * time.Second

// Federators keeps one federator per federated listener and broker of the
// other zones (Kazoo's gen_listener starting listener_federators under
// kz_amqp_federated_listeners_sup): it watches the connections table and
// spawns a federator when a remote broker appears (at start, or added at
// run time), stops it when the broker is removed, and leaves it waiting
// for its sticky channel while the broker is down. It is the tree's; the
// listeners ask it through the Tree.
//
// Owner:    its goroutine (reconcile); callers change parents under mu.
// Writes:   nothing: federators write their own listeners rows.
// Blocking: spawns and stops are requests to the federated listeners
// supervisor, made from its goroutine, never from an actor.
type Federators struct {
	env *actors.Env
	sup *actor.PID // federated_listeners_sup

	mu      sync.Mutex
	parents map[string]listener.Spec // federated listeners by name; Bindings kept current
	running map[string]*running      // by federator name
	wake    chan struct{}            // a parent came or went (gen counts them)
	gen     atomic.Uint64
	done    chan struct{} // closed when reconcile returned
}

type running struct {
	parent, broker string
	pid            *actor.PID
}

// New returns the federators of env's tree; Run starts them.
func New(env *actors.Env) *Federators {
	return &Federators{env: env, sup: env.PID(actors.FederatedName), parents: map[string]listener.Spec{},
		running: map[string]*running{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Run reconciles until env.Stopping closes; Done closes after it.
func (f *Federators) Run() { go f.reconcile() }

// Done is closed once Run's goroutine returned.
func (f *Federators) Done() <-chan struct{} { return f.done }

// Add federates the listener of spec (spawned already).
func (f *Federators) Add(spec listener.Spec) {
	f.mu.Lock()
	spec.Bindings = slices.Clone(spec.Bindings)
	f.parents[spec.Name] = spec
	f.mu.Unlock()
	f.poke()
}

// Remove stops federating the listener name (it stopped).
func (f *Federators) Remove(name string) {
	f.mu.Lock()
	_, ok := f.parents[name]
	delete(f.parents, name)
	f.mu.Unlock()
	if ok {
		f.poke()
	}
}

// Federated reports whether the listener name is federated.
func (f *Federators) Federated(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.parents[name]
	return ok
}

// Binding applies a binding added (add) or removed at run time on the
// listener name to its federators, and records it for those to come. It
// returns what each running federator answered, joined.
func (f *Federators) Binding(ctx context.Context, name string, b listener.Binding, add bool) error {
	f.mu.Lock()
	spec, ok := f.parents[name]
	if !ok {
		f.mu.Unlock()
		return nil
	}
	spec.Bindings = slices.DeleteFunc(spec.Bindings, func(o listener.Binding) bool {
		return o.Exchange == b.Exchange && o.RoutingKey == b.RoutingKey
	})
	if add {
		spec.Bindings = append(spec.Bindings, b)
	}
	f.parents[name] = spec
	pids := f.federatorsOf(name)
	f.mu.Unlock()
	var errs []error
	for _, pid := range pids {
		var msg any = &listener.RemoveBinding{Binding: b}
		if add {
			msg = &listener.AddBinding{Binding: b}
		}
		res, err := f.env.System.Root.RequestFuture(pid, msg, deadline(ctx)).Result()
		if err == nil {
			err = res.(*listener.BindingChanged).Err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("federator %s: %w", pid.Id, err))
		}
	}
	return errors.Join(errs...)
}

func deadline(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return requestTimeout
}

func (f *Federators) poke() {
	f.gen.Add(1)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// remoteBrokers lists the consuming connections of the other zones, read
// through s (a wait on s wakes when they change).
func (f *Federators) remoteBrokers(s *registry.Snapshot) map[string]string {
	out := map[string]string{} // broker id -> zone
	for _, c := range s.ConnectionRows() {
		if c.Zone != f.env.LocalZone && c.Role != registry.Publish {
			out[c.Broker] = c.Zone
		}
	}
	return out
}

func (f *Federators) reconcile() {
	defer close(f.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-f.env.Stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	var applied map[string]string
	seen := ^uint64(0)
	for {
		var brokers map[string]string
		var gen uint64
		err := f.env.Registry.Wait(ctx, func(s *registry.Snapshot) (bool, error) {
			b := f.remoteBrokers(s)
			s.Watch(f.wake)
			brokers, gen = b, f.gen.Load()
			return gen != seen || !maps.Equal(b, applied), nil
		})
		if err != nil {
			if ctx.Err() == nil {
				f.env.Log.Error("federation: watching the connections table", "err", err)
			}
			return
		}
		seen, applied = gen, brokers
		f.apply(ctx, brokers)
	}
}

// apply spawns the federators missing for brokers and stops those whose
// parent or broker is gone.
func (f *Federators) apply(ctx context.Context, brokers map[string]string) {
	f.mu.Lock()
	want := map[string]listener.Spec{}
	for _, p := range f.parents {
		for broker, zone := range brokers {
			s := listener.FederatorSpec(p, broker, zone, f.env.LocalZone)
			want[s.Name] = s
		}
	}
	var stop []string
	for name := range f.running {
		if _, ok := want[name]; !ok {
			stop = append(stop, name)
		}
	}
	var start []listener.Spec
	for name, s := range want {
		if _, ok := f.running[name]; !ok {
			start = append(start, s)
		}
	}
	f.mu.Unlock()
	for _, name := range stop {
		if err := f.request(ctx, &actors.StopChild{Name: name}); err != nil {
			f.env.Log.Warn("federation: stopping a federator", "federator", name, "err", err)
		}
		f.mu.Lock()
		delete(f.running, name)
		f.mu.Unlock()
	}
	for _, s := range start {
		props, err := listener.Props(f.env, s)
		if err != nil {
			f.env.Log.Error("federation: federator spec", "federator", s.Name, "err", err)
			continue
		}
		res, err := f.env.System.Root.RequestFuture(f.sup, &actors.SpawnChild{Name: s.Name, Props: props}, deadline(ctx)).Result()
		if err == nil {
			err = res.(*actors.ChildSpawned).Err
		}
		if err != nil {
			if ctx.Err() == nil {
				f.env.Log.Warn("federation: spawning a federator", "federator", s.Name, "err", err)
			}
			continue
		}
		parent, pid := s.Name[:len(s.Name)-len(s.Broker)-1], res.(*actors.ChildSpawned).PID
		f.mu.Lock()
		f.running[s.Name] = &running{parent: parent, broker: s.Broker, pid: pid}
		// A binding added or removed on the parent while this federator was
		// being spawned (from the spec read before) missed it: apply the
		// difference now.
		now := f.parents[parent].Bindings
		f.mu.Unlock()
		f.catchUp(ctx, pid, s.Bindings, now)
		f.env.Log.Info("federator started", "federator", s.Name, "broker", s.Broker, "zone", s.Zone)
	}
}

// catchUp applies to the federator pid the bindings of now it was not
// spawned with, and removes those it has that now lacks.
func (f *Federators) catchUp(ctx context.Context, pid *actor.PID, had, now []listener.Binding) {
	same := func(a, b listener.Binding) bool { return a.Exchange == b.Exchange && a.RoutingKey == b.RoutingKey }
	var msgs []any
	for _, b := range now {
		if !slices.ContainsFunc(had, func(o listener.Binding) bool { return same(o, b) }) {
			msgs = append(msgs, &listener.AddBinding{Binding: b})
		}
	}
	for _, b := range had {
		if !slices.ContainsFunc(now, func(o listener.Binding) bool { return same(o, b) }) {
			msgs = append(msgs, &listener.RemoveBinding{Binding: b})
		}
	}
	for _, m := range msgs {
		if _, err := f.env.System.Root.RequestFuture(pid, m, deadline(ctx)).Result(); err != nil && ctx.Err() == nil {
			f.env.Log.Warn("federation: bringing a new federator's bindings up to date", "federator", pid.Id, "err", err)
		}
	}
}

func (f *Federators) request(ctx context.Context, msg any) error {
	res, err := f.env.System.Root.RequestFuture(f.sup, msg, deadline(ctx)).Result()
	if err != nil {
		return err
	}
	return res.(*actors.ChildStopped).Err
}

// federatorsOf lists the running federators of the listener name; f.mu
// is held.
func (f *Federators) federatorsOf(name string) []*actor.PID {
	var pids []*actor.PID
	for _, r := range f.running {
		if r.parent == name {
			pids = append(pids, r.pid)
		}
	}
	return pids
}
