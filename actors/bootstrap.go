package actors

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

// DefaultBootstrapTimeout is how long bootstrap waits for a local-zone
// broker before it reports an error (it keeps waiting after that).
const DefaultBootstrapTimeout = 30 * time.Second

// Bootstrap details shown in the tree and read by readiness checks.
const (
	BootstrapReady = "ready"
)

// bootstrap adds the configured brokers, waits until a broker of the local
// zone is available, then declares the targeted exchange: Kazoo's
// kz_amqp_bootstrap. Unlike Kazoo's it does not block the tree's start (the
// wait is a goroutine on a memdb watch) and it stays in the tree, idle, with
// its outcome as its detail line.
//
// It is also the one writer of the topology table (RecordTopology): the
// exchanges and bindings declared at run time, which every broker's first
// consuming connection declares again on connect. The table outlives a
// restart of the actor.
//
// Owner:    its mailbox.
// Writes:   its own actors row detail; the topology table.
// Blocking: waiting runs in a goroutine; requests use ReenterAfter.
type bootstrap struct {
	env     *Env
	log     *slog.Logger
	brokers []BrokerSpec
	timeout time.Duration
	topo    registry.TopologyWriter
	// life ends when the actor stops or restarts: every wait it started
	// ends with it, also one started by a reply that came in after the
	// stop (a late ReenterAfter never leaves a goroutine behind).
	life     context.Context
	end      context.CancelFunc
	deadline *time.Timer
}

type bootstrapAvailable struct{ row registry.Connection }
type bootstrapDeadline struct{}

// NewBootstrapProps returns the props of the bootstrap actor; topo is the
// topology table's writer, which only it gets.
func NewBootstrapProps(env *Env, brokers []BrokerSpec, timeout time.Duration, topo registry.TopologyWriter) *actor.Props {
	if timeout <= 0 {
		timeout = DefaultBootstrapTimeout
	}
	return actor.PropsFromProducer(func() actor.Actor {
		life, end := context.WithCancel(context.Background())
		return &bootstrap{env: env, log: env.Log.With("actor", BootstrapName), brokers: brokers, timeout: timeout, topo: topo, life: life, end: end}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

var _ actor.Actor = (*bootstrap)(nil)

func (b *bootstrap) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		b.addBrokers(ctx)
	case *actor.Stopping, *actor.Restarting:
		b.end()
		if b.deadline != nil {
			b.deadline.Stop()
		}
	case *bootstrapDeadline:
		if d := b.detail(ctx); d != BootstrapReady {
			msg := fmt.Sprintf("no broker of zone %q available after %v; still waiting (%s)", b.env.LocalZone, b.timeout, b.lastErrors())
			b.log.Error("bootstrap: " + msg)
			b.env.SetDetail(ctx.Self(), "error: "+msg)
		}
	case *bootstrapAvailable:
		b.declareTargeted(ctx, m.row)
	case *RecordTopology:
		m.Reply <- b.record(m.Change)
	}
}

// record writes c to the topology table: a declare or bind is recorded,
// a delete or unbind forgotten.
func (b *bootstrap) record(c TopologyChange) error {
	switch c.Op {
	case TopoDeclare:
		return b.topo.RecordExchange(c.Exchange)
	case TopoDelete:
		return b.topo.ForgetExchange(c.Exchange.Name)
	case TopoBind:
		return b.topo.RecordBinding(c.Binding)
	case TopoUnbind:
		return b.topo.ForgetBinding(c.Binding)
	case topoUnrecord:
		return b.topo.Forget(registry.ExchangeID(c.Exchange.Name))
	}
	return c.Validate()
}

func (b *bootstrap) detail(ctx actor.Context) string {
	row, _ := b.env.Registry.Actor(ctx.Self().Id)
	return row.Detail
}

func (b *bootstrap) addBrokers(ctx actor.Context) {
	b.env.SetDetail(ctx.Self(), fmt.Sprintf("waiting for a broker of zone %q", b.env.LocalZone))
	for _, spec := range b.brokers {
		f := ctx.RequestFuture(b.env.PID(ConnectionsName), &AddBroker{Spec: spec}, spawnTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			if r, ok := res.(*BrokerAdded); ok && err == nil {
				err = r.Err
			}
			if err != nil && !b.env.stopping() { // during a shutdown the connections actor is gone first
				b.log.Error("bootstrap: adding broker", "uri", spec.URI(), "err", err)
			}
		})
	}
	self, env := ctx.Self(), b.env
	b.waitAvailable(self, "")
	b.deadline = time.AfterFunc(b.timeout, func() { env.Send(self, &bootstrapDeadline{}) })
}

// waitAvailable waits, in a goroutine bound to the actor's life, until a
// broker of the local zone is available (after broker, when given, was
// seen unavailable) and tells self. A stop ends the wait and sends nothing.
func (b *bootstrap) waitAvailable(self *actor.PID, after string) {
	life, env, zone := b.life, b.env, b.env.LocalZone
	if life.Err() != nil {
		return // a reply that came in after the stop
	}
	env.Go(func() {
		if after != "" {
			if _, err := env.Registry.WaitConnection(life, after, func(c registry.Connection) bool { return !c.Available }); err != nil {
				return
			}
		}
		row, err := env.Registry.WaitAvailable(life, zone)
		if err != nil {
			return // stopped
		}
		env.Send(self, &bootstrapAvailable{row: row})
	})
}

// declareTargeted declares Kazoo's targeted exchange on the primary broker,
// as kz_amqp_bootstrap does once a broker is up.
func (b *bootstrap) declareTargeted(ctx actor.Context, primary registry.Connection) {
	x := Exchange{Name: kazoo.ExchangeTargeted, Kind: kazoo.KindDirect}
	f := ctx.RequestFuture(b.env.System.NewLocalPID(primary.Actor), &DeclareExchange{Exchange: x}, 30*time.Second)
	ctx.ReenterAfter(f, func(res any, err error) {
		if r, ok := res.(*ExchangeDeclared); ok && err == nil {
			err = r.Err
		}
		if b.life.Err() != nil {
			return // stopped meanwhile: the reply is moot
		}
		if err != nil {
			b.log.Error("bootstrap: declaring targeted", "broker", primary.ID, "err", err)
			b.env.SetDetail(ctx.Self(), "error: declare targeted: "+err.Error())
			// Wait for the next available broker (or this one again).
			b.waitAvailable(ctx.Self(), primary.ID)
			return
		}
		b.log.Info("bootstrap done", "primary", primary.ID)
		b.env.SetDetail(ctx.Self(), BootstrapReady)
	})
}

func (b *bootstrap) lastErrors() string {
	var parts []string
	for _, c := range b.env.Registry.Connections() {
		if c.Zone == b.env.LocalZone && c.LastError != "" {
			parts = append(parts, c.ID+": "+c.LastError)
		}
	}
	if len(parts) == 0 {
		return "no error reported"
	}
	return strings.Join(parts, "; ")
}
