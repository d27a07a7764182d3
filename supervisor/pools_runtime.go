package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/registry"
)

// runtimePool is a pool added with Tree.AddPool: its spec (zone resolved),
// its publishers or its workers, and the gate its publishes and calls pass.
type runtimePool struct {
	info PoolInfo
	pub  *publish.Pool // Kind Publishers
	rpc  *rpc.Pool     // Kind Workers
	gate poolGate
}

// runtimePools are the pools added at run time, by name. It is safe for
// concurrent use.
type runtimePools struct {
	mu    sync.RWMutex // guards pools
	pools map[string]*runtimePool
}

func newRuntimePools() *runtimePools { return &runtimePools{pools: map[string]*runtimePool{}} }

// AddPool starts a named pool of publishers or RPC workers while the tree
// runs (Kazoo's kz_amqp_sup:add_amqp_pool): a supervisor "warren/<Name>"
// under the root with spec.Size workers "<Name>-1" … "<Name>-N", pinned as
// [PoolSpec] says. Publish through it with publish.ViaPool(name), call
// through it with rpc.Request.Pool; remove it with [Tree.RemovePool].
//
// It refuses, at once and naming the cause, an invalid spec, a name the
// tree uses already (ErrPoolExists), a broker it has no connection to
// (naming those it has) and a zone it does not know. It returns once the
// pool's supervisor runs: its workers then wait for their channels (a
// publish or a call through the pool waits for them as through the
// zone's pools). A pool added at run time is not restarted by a new
// Start: the application adds it again.
func (t *Tree) AddPool(ctx context.Context, spec PoolSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if _, ok := t.env.Registry.Actor(actors.RootName + "/" + spec.Name); ok {
		return fmt.Errorf("%w: %q is a child of the root already", ErrPoolExists, spec.Name)
	}
	info, err := t.resolvePool(spec, t.knownBrokers())
	if err != nil {
		return err
	}
	rp, pool, err := t.newRuntimePool(info)
	if err != nil {
		return err
	}
	if err := t.acceptPublish(); err != nil { // Shutdown began: it would not drain this one
		t.named.drop(spec.Name)
		return fmt.Errorf("warren: add pool %q: the tree is shutting down: %w", spec.Name, err)
	}
	res, err := t.request(ctx, t.root, &spawnPool{pool: pool})
	if err == nil {
		err = res.(*poolDone).err
	}
	if err != nil {
		t.named.drop(spec.Name)
		if rp.pub != nil {
			rp.pub.Stop()
		}
		return fmt.Errorf("warren: add pool %q: %w", spec.Name, err)
	}
	t.env.Log.Info("pool added", "pool", info.Name, "kind", info.Kind, "size", info.Size, "zone", info.Zone,
		"broker", info.Broker, "tag", info.Tag)
	return nil
}

// newRuntimePool builds the pool info describes, reserves its name and
// returns what its supervisor starts.
func (t *Tree) newRuntimePool(info PoolInfo) (*runtimePool, Pool, error) {
	rp := &runtimePool{info: info}
	var err error
	switch info.Kind {
	case Publishers:
		cfg := t.pubCfg
		cfg.Publishers, cfg.Zone, cfg.Broker, cfg.Tag = info.Size, info.Zone, info.Broker, info.Tag
		if rp.pub, err = publish.NewPool(cfg); err == nil {
			rp.pub.SetEnv(t.env)
		}
	case Workers:
		cfg := t.rpcCfg
		cfg.Workers = info.Size
		rp.rpc, err = rpc.NewPinnedPool(t.env, cfg, rpc.Pin{Zone: info.Zone, Broker: info.Broker, Tag: info.Tag}, info.Name)
	}
	if err != nil {
		return nil, Pool{}, fmt.Errorf("warren: add pool %q: %w", info.Name, err)
	}
	if err := t.named.reserve(info.Name, rp); err != nil {
		return nil, Pool{}, err
	}
	pool := Pool{Name: info.Name, Size: info.Size, Detail: info.detail()}
	if rp.pub != nil {
		env, pub := t.env, rp.pub
		pool.Props = func(i int) *actor.Props { return pub.Props(env, i) }
	} else {
		pool.Props = rp.rpc.Props
	}
	return rp, pool, nil
}

// knownBroker is a broker a pool may be pinned to: its id and zone.
type knownBroker struct{ id, zone string }

// knownBrokers are the brokers the connections table lists.
func (t *Tree) knownBrokers() []knownBroker {
	var out []knownBroker
	for _, c := range t.env.Registry.Connections() {
		if c.Role != registry.Publish && !slices.ContainsFunc(out, func(b knownBroker) bool { return b.id == c.Broker }) {
			out = append(out, knownBroker{c.Broker, c.Zone})
		}
	}
	return out
}

// resolvePool checks spec against the tree (its zones and brokers) and
// fills in its zone and size.
func (t *Tree) resolvePool(spec PoolSpec, brokers []knownBroker) (PoolInfo, error) {
	info := PoolInfo{Name: spec.Name, Kind: spec.Kind, Zone: spec.Zone, Broker: spec.Broker, Tag: spec.Tag, Size: spec.Size, Added: true}
	if info.Size == 0 {
		info.Size = DefaultPoolSize
	}
	zones := slices.Clone(t.pubs.zones)
	ids := make([]string, 0, len(brokers))
	for _, b := range brokers {
		if !slices.Contains(zones, b.zone) {
			zones = append(zones, b.zone)
		}
		ids = append(ids, b.id)
	}
	if spec.Broker != "" {
		i := slices.IndexFunc(brokers, func(b knownBroker) bool { return b.id == spec.Broker })
		if i < 0 {
			return info, fmt.Errorf("warren: add pool %q: no broker %q (brokers: %s)", spec.Name, spec.Broker, strings.Join(ids, ", "))
		}
		if spec.Zone != "" && spec.Zone != brokers[i].zone {
			return info, fmt.Errorf("warren: add pool %q: broker %q is in zone %q, not %q", spec.Name, spec.Broker, brokers[i].zone, spec.Zone)
		}
		info.Zone = brokers[i].zone
		return info, nil
	}
	if info.Zone == "" {
		info.Zone = t.env.LocalZone
	}
	if !slices.Contains(zones, info.Zone) {
		return info, fmt.Errorf("warren: add pool %q: no zone %q (zones: %s)", spec.Name, info.Zone, strings.Join(zones, ", "))
	}
	return info, nil
}

// detail is the pool supervisor's line in the tree.
func (i PoolInfo) detail() string {
	switch {
	case i.Broker != "":
		return fmt.Sprintf("%d %s pinned to broker %s", i.Size, i.Kind, i.Broker)
	case i.Tag != "":
		return fmt.Sprintf("%d %s on brokers tagged %s in zone %s", i.Size, i.Kind, i.Tag, i.Zone)
	default:
		return fmt.Sprintf("%d %s of zone %s", i.Size, i.Kind, i.Zone)
	}
}

// RemovePool removes the pool name that AddPool added, draining it as
// Shutdown drains the tree: a publish or a call through it from now on
// fails at once with ErrPoolRemoved; those in flight finish (confirmed
// publishes get their confirm, or are resent, calls their replies or their
// timeout) until ctx ends; then its actors stop and give their channels
// back, and a confirmed publish still waiting fails with
// publish.ErrNotConfirmed. The error wraps ErrDrainCut and names what was
// cut when ctx ended first; the pool is removed all the same. A name
// AddPool did not add fails with ErrNoPool (the zones' own pools stay).
func (t *Tree) RemovePool(ctx context.Context, name string) error {
	rp, err := t.named.startRemoval(name)
	if err != nil {
		return err
	}
	t.env.Send(t.env.System.NewLocalPID(actors.RootName+"/"+name), &poolRemoving{detail: "removing: draining " + rp.info.detail()})
	var cut error
	if err := rp.gate.close(ctx); err != nil {
		cut = fmt.Errorf("%w: pool %s: %w", ErrDrainCut, name, err)
	}
	if rp.pub != nil && cut == nil {
		if err := rp.pub.WaitIdle(ctx); err != nil {
			cut = fmt.Errorf("%w: pool %s: %w", ErrDrainCut, name, err)
		}
	}
	// The stop goes on past ctx: a pool half removed would hold channels
	// no one uses. It is bounded by requestTimeout.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	if rp.pub != nil {
		defer rp.pub.Stop() // once its actors stopped: a publish waiting fails now
	}
	res, err := t.request(sctx, t.root, &stopPool{name: name})
	if err == nil {
		err = res.(*poolDone).err
	}
	if err != nil { // forgotten all the same: a pool that cannot stop serves no one
		t.named.drop(name)
		return errors.Join(cut, fmt.Errorf("warren: remove pool %q: %w", name, err))
	}
	prefix := actors.RootName + "/" + name
	var left []string
	err = t.env.Registry.Wait(sctx, func(s *registry.Snapshot) (bool, error) {
		left = s.ActorsUnder(prefix)
		_, sup := s.Actor(prefix)
		return len(left) == 0 && !sup, nil
	})
	t.named.drop(name)
	if err != nil {
		return errors.Join(cut, fmt.Errorf("warren: remove pool %q: actors still stopping (%s): %w", name, strings.Join(left, ", "), err))
	}
	t.env.Log.Info("pool removed", "pool", name, "drain_cut", cut != nil)
	return cut
}

// Pools lists the pools the tree runs: the zones' own (Config.Publish,
// Config.RPC: "publishers", "workers", "<kind>@<zone>"), then those added
// at run time by name.
func (t *Tree) Pools() []PoolInfo {
	var out []PoolInfo
	names, pubs := t.pubs.all()
	for i, p := range pubs {
		zone := p.Config().Zone
		if zone == "" {
			zone = t.env.LocalZone
		}
		out = append(out, PoolInfo{Name: names[i], Kind: Publishers, Zone: zone, Size: p.Config().Publishers})
	}
	wnames, ws := t.calls.all()
	for i, w := range ws {
		zone := strings.TrimPrefix(wnames[i], actors.WorkersName+"@")
		if wnames[i] == actors.WorkersName {
			zone = t.env.LocalZone
		}
		out = append(out, PoolInfo{Name: wnames[i], Kind: Workers, Zone: zone, Size: w.Size()})
	}
	return append(out, t.named.list()...)
}

// reserve adds rp under name, refusing a name taken.
func (r *runtimePools) reserve(name string, rp *runtimePool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pools[name]; ok {
		return fmt.Errorf("%w: %q", ErrPoolExists, name)
	}
	r.pools[name] = rp
	return nil
}

// drop forgets the pool name.
func (r *runtimePools) drop(name string) {
	r.mu.Lock()
	delete(r.pools, name)
	r.mu.Unlock()
}

// startRemoval marks the pool name as being removed.
func (r *runtimePools) startRemoval(name string) (*runtimePool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rp, ok := r.pools[name]
	switch {
	case !ok:
		return nil, r.unknown(name)
	case rp.info.Removing:
		return nil, fmt.Errorf("%w: %q is being removed already", ErrPoolRemoved, name)
	}
	rp.info.Removing = true
	return rp, nil
}

// unknown is ErrNoPool naming the pools added at run time; r.mu held.
func (r *runtimePools) unknown(name string) error {
	names := make([]string, 0, len(r.pools))
	for n := range r.pools {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("%w %q (none was added)", ErrNoPool, name)
	}
	return fmt.Errorf("%w %q (pools added: %s)", ErrNoPool, name, strings.Join(names, ", "))
}

// list returns the pools added, by name.
func (r *runtimePools) list() []PoolInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]PoolInfo, 0, len(r.pools))
	for _, rp := range r.pools {
		out = append(out, rp.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// publishPools returns the publishers pools added, for Shutdown's drain
// and stop.
func (r *runtimePools) publishPools() []namedPool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []namedPool
	for name, rp := range r.pools {
		if rp.pub != nil {
			out = append(out, namedPool{name, rp.pub})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// enter looks the pool name up for a publish or a call of kind and counts
// it in flight; the caller calls leave on the pool it got.
func (r *runtimePools) enter(name string, kind PoolKind) (*runtimePool, error) {
	r.mu.RLock()
	rp, ok := r.pools[name]
	if !ok {
		err := r.unknown(name)
		r.mu.RUnlock()
		return nil, err
	}
	r.mu.RUnlock()
	if rp.info.Kind != kind {
		return nil, fmt.Errorf("warren: pool %q runs %s, not %s", name, rp.info.Kind, kind)
	}
	if !rp.gate.enter() {
		return nil, fmt.Errorf("%w: %q", ErrPoolRemoved, name)
	}
	return rp, nil
}
