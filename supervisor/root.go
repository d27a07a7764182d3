package supervisor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/nodes"
	"github.com/warrenmq/warren/registry"
)

// root is the "warren" supervisor: it starts Kazoo's five children in
// Kazoo's order, then the listeners supervisor and the worker pools
// ([Tree.pools]: publishers, RPC workers), then "nodes" (Kazoo's
// kz_nodes, package actors/nodes), and restarts each on failure
// (one_for_one, 5/10s).
//
// Owner:    its mailbox.
// Writes:   nothing but its own actors row.
// Blocking: none.
type root struct {
	env      *actors.Env
	writers  *registry.Writers // hands the connections and assignments writers to their actors
	brokers  []actors.BrokerSpec
	bootWait time.Duration
	pools    []Pool       // worker pools started after Kazoo's children (publishers, RPC workers)
	nodes    *actor.Props // kz_nodes (package actors/nodes), started last: it publishes through the pools
}

func rootProps(env *actors.Env, writers *registry.Writers, brokers []actors.BrokerSpec, bootWait time.Duration, pools []Pool, nodes *actor.Props, g *guardian) *actor.Props {
	strategy := oneForOne{name: actors.RootName, max: DefaultIntensity, period: DefaultPeriod}
	return actor.PropsFromProducer(func() actor.Actor {
		return &root{env: env, writers: writers, brokers: brokers, bootWait: bootWait, pools: pools, nodes: nodes}
	},
		actor.WithSupervisor(strategy),
		actor.WithGuardian(g),
		actor.WithReceiverMiddleware(env.Lifecycle(registry.Supervisor, strategy.String())))
}

// started is asked of the root by Start: its answer comes after the
// children were spawned, so callers can address them at once.
type started struct{}

func (r *root) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *started:
		ctx.Respond(&started{})
		return
	case *spawnPool:
		ctx.Respond(r.spawnPool(ctx, m))
		return
	case *stopPool:
		ctx.Respond(r.stopPool(ctx, m))
		return
	case *actor.Started:
	default:
		return
	}
	children := []struct {
		name  string
		props *actor.Props
	}{
		{actors.ConnectionsName, actors.NewConnectionsProps(r.env, r.writers.Connections)},
		{actors.ConnSupName, simpleSupProps(r.env, actors.ConnSupName)},
		{actors.FederatedName, simpleSupProps(r.env, actors.FederatedName)},
		{actors.AssignmentsName, actors.NewAssignmentsProps(r.env, r.writers.Assignments)},
		{actors.BootstrapName, actors.NewBootstrapProps(r.env, r.brokers, r.bootWait, r.writers.Topology)},
		{actors.ListenersName, simpleSupProps(r.env, actors.ListenersName)},
	}
	for _, p := range r.pools {
		children = append(children, struct {
			name  string
			props *actor.Props
		}{p.Name, poolSupProps(r.env, p)})
	}
	if r.nodes != nil {
		children = append(children, struct {
			name  string
			props *actor.Props
		}{nodes.Name, r.nodes})
	}
	for _, c := range children {
		if _, err := ctx.SpawnNamed(c.props, c.name); err != nil {
			panic(err) // a name clash inside our own tree is a bug
		}
	}
}
