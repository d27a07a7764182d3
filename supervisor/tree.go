package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/actors/tracing"
	"github.com/warrenmq/warren/federation"
	"github.com/warrenmq/warren/registry"
)

// Tree is a running Warren supervision tree. It is safe for concurrent use
// by multiple goroutines.
type Tree struct {
	env *actors.Env
	// The publishers and the RPC workers of each zone: the local zone's
	// pools (Config.Publish, Config.RPC) and one publisher and one worker
	// for each other zone, routed to by publish.ToZone and
	// rpc.Request.Zone. A pool the tree does not run is missing.
	pubs   *zoneRouter[*publish.Pool]
	calls  *zoneRouter[*rpc.Pool]
	rpcCfg rpc.Config     // the request defaults of Call and Cast
	pubCfg publish.Config // the publishers config of the pools added at run time
	// named are the pools added at run time (AddPool), by name.
	named     *runtimePools
	root      *actor.PID
	ownSystem bool

	done     chan struct{}
	stopping chan struct{} // closed when Shutdown starts (Env.Stopping)
	fed      *federation.Federators
	metrics  *treeMetrics
	drainFor time.Duration // Config.DrainTimeout
	prefetch int           // Config.Prefetch: SpawnListener's default
	// pubClosed is closed by Shutdown once the listeners are drained: new
	// publishes fail with publish.ErrStopped while those in flight finish.
	pubClosed chan struct{}
	doneOnce  sync.Once
	stopOnce  sync.Once // Shutdown's work runs once
	stopErr   error
	mu        sync.Mutex // guards err
	err       error
}

// Start validates cfg and starts the tree. It returns at once: use
// [Tree.WaitReady] to wait for a broker of the local zone.
func Start(cfg Config, opts ...Option) (*Tree, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	local, specs, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	t := &Tree{done: make(chan struct{}), stopping: make(chan struct{}), drainFor: cfg.DrainTimeout, prefetch: cfg.Prefetch,
		pubClosed: make(chan struct{}), rpcCfg: cfg.RPC, pubCfg: cfg.Publish, named: newRuntimePools()}
	sys := o.system
	if sys == nil {
		t.ownSystem = true
		logger := o.log.With("lib", "protoactor")
		sys = actor.NewActorSystem(
			actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return warnOnly(logger) }),
			actor.WithDeadLetterThrottleCount(3))
		shrinkProcessRegistry(sys)
	}
	// The registry's writers are made here, once, and handed to each
	// table's owner: the self-describing tables' in the Env, the
	// connections and assignments ones to their actor only (rootProps).
	reg, writers := registry.New()
	t.env = &actors.Env{System: sys, Registry: reg, Log: o.log.With("lib", "warren"), LocalZone: local,
		Actors: writers.Actors, Listeners: writers.Listeners, Publishers: writers.Publishers, Workers: writers.Workers,
		// Publishers and RPC workers publish on a connection of their own,
		// so that a broker blocking publishers never stops the consumers.
		SplitPublishing: cfg.Publish.Publishers >= 0 || cfg.RPC.Workers >= 0, Stopping: t.stopping, Tracer: tracing.New(o.tp)}
	t.metrics = newTreeMetrics(t)
	t.env.Observe = t.metrics.observer()
	if err := t.zonePools(cfg, specs); err != nil {
		return nil, err
	}
	if pub, ok := t.pubs.local(); ok {
		t.env.Replies = pub // listeners reply through the publishers
		t.env.ZoneReplies = t.publishZoneReply
	}
	named, err := t.configPools(cfg, specs)
	if err != nil {
		return nil, err
	}
	t.fed = federation.New(t.env)
	g := &guardian{onFail: func(reason any) {
		t.fail(fmt.Errorf("warren: supervision tree failed: %v", reason))
	}}
	nodesProps, err := t.nodesProps(cfg, writers.Nodes)
	if err != nil {
		return nil, err
	}
	root, err := sys.Root.SpawnNamed(rootProps(t.env, writers, specs, cfg.BootstrapTimeout, append(t.pools(), named...), nodesProps, g), actors.RootName)
	if err != nil {
		return nil, fmt.Errorf("warren: start tree: %w", err)
	}
	t.root = root
	if _, err := sys.Root.RequestFuture(root, &started{}, 10*time.Second).Result(); err != nil {
		return nil, fmt.Errorf("warren: start tree: root did not start: %w", err)
	}
	t.fed.Run()
	return t, nil
}

func (t *Tree) fail(err error) {
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
	t.env.Log.Error("tree stopped", "err", err)
	t.doneOnce.Do(t.closeDone)
}

// Registry returns the tree's tables for reading.
func (t *Tree) Registry() *registry.Registry { return t.env.Registry }

// System returns the actor system the tree runs in.
func (t *Tree) System() *actor.ActorSystem { return t.env.System }

// Env returns what Warren's actors share, for actors the embedding
// application spawns into the tree (listeners, publishers).
func (t *Tree) Env() *actors.Env { return t.env }

// PID returns the PID of the tree's child called name (see actors.*Name).
func (t *Tree) PID(name string) *actor.PID { return t.env.PID(name) }

// LocalZone returns the zone this node belongs to.
func (t *Tree) LocalZone() string { return t.env.LocalZone }

// Snapshot returns the live supervision tree, root "warren".
func (t *Tree) Snapshot() *registry.TreeNode { return t.env.Registry.Tree(actors.RootName) }

// AddBroker adds a connection to uri in zone ("" for the local zone) and
// returns its broker id.
func (t *Tree) AddBroker(ctx context.Context, uri, zone string) (string, error) {
	return t.AddBrokerWith(ctx, uri, BrokerOptions{Zone: zone})
}

// RemoveBroker stops the connection of broker id.
func (t *Tree) RemoveBroker(ctx context.Context, id string) error {
	res, err := t.request(ctx, t.PID(actors.ConnectionsName), &actors.RemoveBroker{ID: id})
	if err != nil {
		return err
	}
	return res.(*actors.BrokerRemoved).Err
}

// DrainBroker drains broker id (a broker id as in the connections table's
// Broker column: both its connections, consuming and publishing), the tree
// side of a planned broker stop, like `rabbitmq-upgrade drain` without the
// broker's help. The broker takes no new float channels while another
// broker of its zone is up, its prechannels are closed, and every float
// holding one of its channels moves: a consumer that asked with CanMove
// gets a channel on the zone's next broker while it still holds the old
// one (ChannelAssigned.MovedFrom) and gives the old one back once its work
// left it; one without CanMove loses its channel and gets one elsewhere.
// Stickies of the broker stay: they have nowhere else to go.
//
// It returns once no float channel of the broker is held any more, or
// ctx's error naming what still holds one there. It refuses, naming the
// zone, when no other broker of the broker's zone is up. The mark stays
// across the broker's reconnects (drain, stop, upgrade, start) until
// UndrainBroker.
func (t *Tree) DrainBroker(ctx context.Context, id string) error {
	if err := t.drainMark(ctx, id, false); err != nil {
		return err
	}
	var ids []string
	for _, c := range t.env.Registry.Connections() {
		if c.Broker == id {
			ids = append(ids, c.ID)
		}
	}
	if err := t.env.Registry.WaitReleased(ctx, ids...); err != nil {
		return fmt.Errorf("warren: drain broker %s: %w", id, err)
	}
	return nil
}

// UndrainBroker makes broker id, drained by DrainBroker, take new float
// channels again (and fill its pool of prechannels). Floats that moved off
// it do not move back: Warren keeps floats where they are until their
// broker fails.
func (t *Tree) UndrainBroker(ctx context.Context, id string) error {
	return t.drainMark(ctx, id, true)
}

// drainMark asks the assignments actor to set or clear the draining mark of
// broker id and waits for its answer.
func (t *Tree) drainMark(ctx context.Context, id string, undrain bool) error {
	marked := map[string]bool{} // the rows the assignments actor will mark: those there now
	for _, c := range t.env.Registry.Connections() {
		if c.Broker == id {
			marked[c.ID] = true
		}
	}
	reply := make(chan error, 1)
	t.env.Send(t.PID(actors.AssignmentsName), &actors.DrainBroker{Broker: id, Undrain: undrain, Reply: reply})
	timer := time.NewTimer(requestTimeout)
	defer timer.Stop()
	select {
	case err := <-reply:
		if err != nil {
			return err
		}
		return t.waitDrainRows(ctx, id, marked, !undrain)
	case <-ctx.Done():
		return fmt.Errorf("warren: drain broker %s: waiting for the assignments actor: %w", id, ctx.Err())
	case <-timer.C:
		return fmt.Errorf("warren: drain broker %s: the assignments actor did not answer within %v", id, requestTimeout)
	}
}

// waitDrainRows waits until the connections rows of broker id in ids say
// draining (or not): the connections actor writes the mark after the
// assignments actor took it, and a caller reading the rows next (warren
// brokers after warren undrain) must see it. A row gone meanwhile (the
// broker removed) needs no mark.
func (t *Tree) waitDrainRows(ctx context.Context, id string, ids map[string]bool, draining bool) error {
	wctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	err := t.env.Registry.Wait(wctx, func(s *registry.Snapshot) (bool, error) {
		for _, c := range s.ConnectionRows() {
			if ids[c.ID] && c.Draining != draining {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("warren: drain broker %s: the connections table does not show the mark (draining %v): %w", id, draining, err)
	}
	return nil
}

// requestTimeout bounds a request to an actor whose ctx has no deadline.
const requestTimeout = 10 * time.Second

// request asks pid and waits for the answer, until ctx ends (cancelled or
// past its deadline) or requestTimeout when ctx has no deadline.
func (t *Tree) request(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := requestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	f := t.env.System.Root.RequestFuture(pid, msg, timeout)
	if ctx.Done() == nil {
		return f.Result()
	}
	type answer struct {
		res any
		err error
	}
	got := make(chan answer, 1)
	go func() { // ends with the future, at the latest at its timeout
		res, err := f.Result()
		got <- answer{res, err}
	}()
	select {
	case a := <-got:
		return a.res, a.err
	case <-ctx.Done():
		t.env.Send(f.PID(), ctx.Err()) // completes the future: its waiter ends now
		return nil, ctx.Err()
	}
}

// closeDone closes done and stops the publishers pools: a publish still
// waiting fails with publish.ErrStopped. Called once, through doneOnce.
func (t *Tree) closeDone() {
	close(t.done)
	t.stopPublishers()
}

// Done is closed when the tree has stopped: after Shutdown, or when the
// root supervisor failed (see [Tree.Err]).
func (t *Tree) Done() <-chan struct{} { return t.done }

// Err returns why the tree stopped on its own, or nil.
func (t *Tree) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Shutdown stops the tree without losing or repeating work, within ctx:
//
//  1. it drains every listener (federators included): consumers cancelled,
//     deliveries no handler started given back to their queue, running
//     handlers let finish and their deliveries acked, until
//     Config.DrainTimeout (or earlier, when ctx ends sooner), when the
//     handlers still running have their ctx cancelled and a handler that
//     then fails has its message requeued;
//  2. new publishes fail with publish.ErrStopped while those in flight
//     finish (their confirms come in, or they are resent), by the same
//     deadline;
//  3. it stops every actor, then closes every broker connection, and waits
//     for them.
//
// Publishes and calls keep working during step 1 (handlers may publish).
// The error wraps ErrDrainCut and names what the drain had to cut, even
// when the rest of the shutdown went well. Calling it again returns the
// first call's result.
func (t *Tree) Shutdown(ctx context.Context) error {
	t.stopOnce.Do(func() { t.stopErr = t.shutdown(ctx) })
	return t.stopErr
}

func (t *Tree) shutdown(ctx context.Context) error {
	if err := t.drain(ctx); err != nil {
		err = fmt.Errorf("warren: shutdown: %w", err)
		t.env.Log.Warn("shutdown cut work short", "err", err)
		return errors.Join(err, t.stop(ctx))
	}
	return t.stop(ctx)
}

// stop stops the actors and the connections, once drained.
func (t *Tree) stop(ctx context.Context) error {
	close(t.stopping)
	select { // no federator spawned from here on
	case <-t.fed.Done():
	case <-ctx.Done():
		return fmt.Errorf("warren: shutdown: federation still reconciling: %w", ctx.Err())
	}
	// Stop the root and wait until every actor of the tree has deleted its
	// row (each does on Stopped, through the lifecycle middleware): a watch
	// on the actors table, which also names what is left. protoactor's
	// StopFuture was seen never to complete for a tree stopped while it
	// was still starting.
	t.env.System.Root.Stop(t.root)
	var left []string
	err := t.env.Registry.Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		left = s.ActorsUnder(actors.RootName)
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("warren: shutdown: actors still stopping (%s): %w", strings.Join(left, ", "), err)
	}
	closed := make(chan struct{})
	go func() { t.env.Closing.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-ctx.Done():
		return fmt.Errorf("warren: shutdown: connections still closing: %w", ctx.Err())
	}
	if t.ownSystem {
		t.env.System.Shutdown()
	}
	t.doneOnce.Do(t.closeDone)
	return nil
}

// warnOnly narrows protoactor's logger: its Info lines (every restart,
// "actor system started") are noise for Warren's users.
func warnOnly(l *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{Handler: l.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{Handler: f.Handler.WithAttrs(a), min: f.min}
}

func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{Handler: f.Handler.WithGroup(n), min: f.min}
}

// pools lists, in the order the root starts them after Kazoo's children,
// the worker pools of the tree: the publishers (listeners reply through
// them), then the RPC workers (a Cast goes out through the publishers),
// then those of each other zone.
func (t *Tree) pools() []Pool {
	var pools []Pool
	env := t.env
	for _, z := range t.pubs.zones {
		if pub, ok := t.pubs.pools[z]; ok {
			pools = append(pools, Pool{Name: t.pubs.name(z), Size: pub.Config().Publishers,
				Props: func(i int) *actor.Props { return pub.Props(env, i) }})
		}
		if w, ok := t.calls.pools[z]; ok {
			pools = append(pools, Pool{Name: t.calls.name(z), Size: w.Size(), Props: w.Props})
		}
	}
	return pools
}

// zonePools makes the pools of the local zone (Config.Publish, Config.RPC)
// and one publisher and one RPC worker for each other zone (when the tree
// runs publishers, workers), and the routers to them.
func (t *Tree) zonePools(cfg Config, specs []actors.BrokerSpec) error {
	zones := []string{t.env.LocalZone}
	for _, s := range specs {
		if !slices.Contains(zones, s.Zone) {
			zones = append(zones, s.Zone)
		}
	}
	t.pubs = newZoneRouter[*publish.Pool](actors.PublishersName, zones, publish.ErrStopped)
	t.calls = newZoneRouter[*rpc.Pool](actors.WorkersName, zones, rpc.ErrStopped)
	for _, z := range zones {
		pc, rc := cfg.Publish, cfg.RPC
		if z != t.env.LocalZone { // one of each, if the tree runs them
			pc.Zone = z
			if pc.Publishers >= 0 {
				pc.Publishers = 1
			}
			if rc.Workers >= 0 {
				rc.Workers = 1
			}
		}
		pub, err := publishPool(pc) // cfg is valid (resolve): no error but a bug's
		if err != nil {
			return err
		}
		if pub != nil {
			pub.SetEnv(t.env) // its tracer before its publishers exist: a publish may wait for them
			t.pubs.set(z, pub)
		}
		var w *rpc.Pool
		if z == t.env.LocalZone {
			w, err = rpcPool(t.env, rc)
		} else if rc.Workers >= 0 {
			w, err = rpc.NewZonePool(t.env, rc, z, t.calls.name(z))
		}
		if err != nil {
			return err
		}
		if w != nil {
			t.calls.set(z, w)
		}
	}
	return nil
}

// Degraded says, in one line, what a ready node cannot do now: consumers
// waiting for a channel because their broker's channel_max is used up
// ("11 consumers waiting for a channel on 127.0.0.1:5672 (channel_max 2047
// reached)", one part per broker, joined with "; "). Empty when nothing
// is. A degraded node stays ready ([Tree.Ready]): it serves every other
// consumer, and taking it out of rotation would not give the waiting ones
// a channel.
func (t *Tree) Degraded() string {
	reg := t.env.Registry
	waiting := map[string]int{}
	for _, a := range reg.Assignments() {
		if a.Reason != "" && (a.State == registry.Waiting || a.State == registry.Reconnecting) {
			waiting[a.Broker]++
		}
	}
	brokers := make([]string, 0, len(waiting))
	for b := range waiting {
		brokers = append(brokers, b)
	}
	slices.Sort(brokers)
	parts := make([]string, 0, len(brokers))
	for _, b := range brokers {
		who := "consumers"
		if waiting[b] == 1 {
			who = "consumer"
		}
		channelMax := 0
		if row, ok := reg.Connection(b); ok {
			channelMax = row.ChannelMax
		}
		parts = append(parts, fmt.Sprintf("%d %s waiting for a channel on %s (channel_max %d reached)", waiting[b], who, b, channelMax))
	}
	return strings.Join(parts, "; ")
}

// BrokerOptions are what a broker added at run time may set beyond its
// URI: its zone ("" for the local zone), its consuming connections, its
// tags and whether it is hidden (see [actors.BrokerSpec]).
type BrokerOptions struct {
	Zone        string
	Connections int
	Tags        []string
	Hidden      bool
}

// AddBrokerWith is [Tree.AddBroker] with the broker's options.
func (t *Tree) AddBrokerWith(ctx context.Context, uri string, o BrokerOptions) (string, error) {
	spec := actors.BrokerSpec{Zone: o.Zone, Connections: o.Connections, Tags: o.Tags, Hidden: o.Hidden,
		Options: actors.ConnectionOptions{URL: uri}}
	res, err := t.request(ctx, t.PID(actors.ConnectionsName), &actors.AddBroker{Spec: spec})
	if err != nil {
		return "", err
	}
	r := res.(*actors.BrokerAdded)
	if r.Err != nil {
		return r.ID, r.Err
	}
	// The connection actors write their rows as they start: wait for them,
	// so that a caller listing the brokers next (warren brokers after
	// warren brokers add) sees the one it added.
	wctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	err = t.env.Registry.Wait(wctx, func(s *registry.Snapshot) (bool, error) {
		for _, c := range s.ConnectionRows() {
			if c.Broker == r.ID {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return r.ID, fmt.Errorf("warren: broker %s added, but its connection has no row yet: %w", r.ID, err)
	}
	return r.ID, nil
}

// AddConnection opens one more consuming connection to broker id (Kazoo's
// add_connection) and returns its id (id~N, see [actors.NthConnID]) once
// its actor runs; it connects in the background like any other. A broker
// keeps at most [actors.DefaultMaxConnections] consuming connections.
func (t *Tree) AddConnection(ctx context.Context, id string) (string, error) {
	res, err := t.request(ctx, t.PID(actors.ConnectionsName), &actors.AddConnection{Broker: id})
	if err != nil {
		return "", err
	}
	r := res.(*actors.ConnectionAdded)
	return r.ID, r.Err
}
