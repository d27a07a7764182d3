package supervisor

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// Pool describes a fixed-size pool of identical workers under their own
// supervisor (Kazoo's poolboy pools under kz_amqp_sup): the supervisor
// starts Size children named "<Name>-1" … "<Name>-N" whenever it starts,
// so a restart of the pool brings its workers back.
type Pool struct {
	Name   string
	Size   int
	Props  func(i int) *actor.Props
	Detail string // the supervisor's line in the tree (a pool added at run time says how it is pinned)
}

// poolSup is a one_for_one supervisor of a fixed set of workers.
//
// Owner:    its mailbox.
// Writes:   its own actors row.
// Blocking: none.
type poolSup struct {
	env  *actors.Env
	pool Pool
}

// poolRemoving tells the supervisor of a pool that Tree.RemovePool drains
// it: it shows detail in the tree until it stops.
type poolRemoving struct{ detail string }

func poolSupProps(env *actors.Env, pool Pool) *actor.Props {
	strategy := oneForOne{name: pool.Name, max: DefaultIntensity, period: DefaultPeriod}
	return actor.PropsFromProducer(func() actor.Actor { return &poolSup{env: env, pool: pool} },
		actor.WithSupervisor(strategy),
		actor.WithReceiverMiddleware(env.Lifecycle(registry.Supervisor, strategy.String())))
}

func (p *poolSup) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
	case *poolRemoving:
		p.env.SetDetail(ctx.Self(), m.detail)
		return
	default:
		return
	}
	if p.pool.Detail != "" {
		p.env.SetDetail(ctx.Self(), p.pool.Detail)
	}
	for i := 1; i <= p.pool.Size; i++ {
		if _, err := ctx.SpawnNamed(p.pool.Props(i), fmt.Sprintf("%s-%d", p.pool.Name, i)); err != nil {
			panic(err)
		}
	}
}
