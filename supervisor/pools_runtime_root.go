package supervisor

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
)

// spawnPool asks the root to start the supervisor of a pool added at run
// time (Tree.AddPool); it answers *poolDone.
type spawnPool struct{ pool Pool }

// stopPool asks the root to stop the supervisor of the pool name added at
// run time (Tree.RemovePool); it answers *poolDone at once, and the
// actors rows of the pool leave the table as its actors stop.
type stopPool struct{ name string }

// poolDone answers spawnPool and stopPool.
type poolDone struct{ err error }

func (r *root) spawnPool(ctx actor.Context, m *spawnPool) *poolDone {
	if _, err := ctx.SpawnNamed(poolSupProps(r.env, m.pool), m.pool.Name); err != nil {
		return &poolDone{err: fmt.Errorf("start its supervisor: %w", err)}
	}
	return &poolDone{}
}

func (r *root) stopPool(ctx actor.Context, m *stopPool) *poolDone {
	path := actors.RootName + "/" + m.name
	for _, c := range ctx.Children() {
		if c.Id == path {
			ctx.Stop(c)
			return &poolDone{}
		}
	}
	return &poolDone{err: fmt.Errorf("no child %s", path)}
}
