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
// Owner:    its mailbox.
// Writes:   its own actors row detail.
// Blocking: waiting runs in a goroutine; requests use ReenterAfter.
type bootstrap struct {
	env     *Env
	log     *slog.Logger
	brokers []BrokerSpec
	timeout time.Duration
	cancel  context.CancelFunc
}

type bootstrapAvailable struct {
	row registry.Connection
	err error
}
type bootstrapDeadline struct{}

// NewBootstrapProps returns the props of the bootstrap actor.
func NewBootstrapProps(env *Env, brokers []BrokerSpec, timeout time.Duration) *actor.Props {
	if timeout <= 0 {
		timeout = DefaultBootstrapTimeout
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &bootstrap{env: env, log: env.Log.With("actor", BootstrapName), brokers: brokers, timeout: timeout}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

var _ actor.Actor = (*bootstrap)(nil)

func (b *bootstrap) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		b.addBrokers(ctx)
	case *actor.Stopping, *actor.Restarting:
		if b.cancel != nil {
			b.cancel()
		}
	case *bootstrapDeadline:
		if d := b.detail(ctx); d != BootstrapReady {
			msg := fmt.Sprintf("no broker of zone %q available after %v; still waiting (%s)", b.env.LocalZone, b.timeout, b.lastErrors())
			b.log.Error("bootstrap: " + msg)
			b.env.SetDetail(ctx.Self(), "error: "+msg)
		}
	case *bootstrapAvailable:
		if m.err != nil {
			return // cancelled by a stop
		}
		b.declareTargeted(ctx, m.row)
	}
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
	wctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	self, env, zone := ctx.Self(), b.env, b.env.LocalZone
	go func() {
		row, err := env.Registry.WaitAvailable(wctx, zone)
		env.Send(self, &bootstrapAvailable{row: row, err: err})
	}()
	time.AfterFunc(b.timeout, func() { env.Send(self, &bootstrapDeadline{}) })
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
		if err != nil {
			b.log.Error("bootstrap: declaring targeted", "broker", primary.ID, "err", err)
			b.env.SetDetail(ctx.Self(), "error: declare targeted: "+err.Error())
			// Wait for the next available broker (or this one again).
			self, env, zone := ctx.Self(), b.env, b.env.LocalZone
			wctx, cancel := context.WithCancel(context.Background())
			b.cancel = cancel
			go func() {
				_, _ = env.Registry.WaitConnection(wctx, primary.ID, func(c registry.Connection) bool { return !c.Available })
				row, err := env.Registry.WaitAvailable(wctx, zone)
				env.Send(self, &bootstrapAvailable{row: row, err: err})
			}()
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
