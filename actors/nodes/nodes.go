package nodes

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// Name is the actor's name under the root: Kazoo's kz_nodes.
const Name = "nodes"

// ListenerName names the actor's listener (its child).
const ListenerName = "nodes_listener"

// Messages of the nodes actor: commands to itself from its timers and its
// listener.
type (
	advertiseNow struct{}             // the advertise timer fired
	expireNow    struct{ gen uint64 } // the expiry timer of generation gen fired
	heard        struct {
		env kazoo.Envelope
		at  time.Time
	} // the listener got an advertisement
	published struct{ err error } // an advertisement's publish ended
)

// nodesActor advertises this node and records the others (kz_nodes).
//
// Owner:    its mailbox; fields are touched only inside Receive.
// Writes:   the nodes table, nobody else does.
// Blocking: publishing runs in a goroutine that reports back with
// *published; its timers only send it messages.
type nodesActor struct {
	env     *actors.Env
	cfg     Config
	w       registry.NodesWriter
	log     *slog.Logger
	started time.Time
	self    *actor.PID

	adTimer     *time.Timer
	expTimer    *time.Timer
	expGen      uint64
	expAt       time.Time          // when expTimer fires
	publishing  bool               // an advertisement's publish is running
	lastPubFail bool               // the last publish failed: logged once per outage
	cancel      context.CancelFunc // ends the wait for the listener to consume
}

// NewProps returns the props of the nodes actor, which the tree spawns
// under its root as Name. It fails when cfg does not validate.
func NewProps(env *actors.Env, w registry.NodesWriter, cfg Config) (*actor.Props, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := env.Log.With("actor", Name)
	return actor.PropsFromProducer(func() actor.Actor {
		return &nodesActor{env: env, cfg: cfg, w: w, log: log}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, ""))), nil
}

func (n *nodesActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		n.start(ctx)
	case *advertiseNow:
		n.advertise(ctx)
	case *published:
		n.publishing = false
		n.logPublish(m.err)
	case *heard:
		n.record(m)
	case *expireNow:
		if m.gen == n.expGen {
			n.expire(time.Now())
		}
	case *actor.Stopping:
		n.stopTimers()
	case *actor.Restarting:
		n.stopTimers()
	}
}

func (n *nodesActor) start(ctx actor.Context) {
	n.started, n.self = time.Now(), ctx.Self()
	props, err := listener.Props(n.env, n.listenerSpec(ctx.Self()))
	if err != nil {
		panic(err) // our own spec: a bug
	}
	if _, err := ctx.SpawnNamed(props, ListenerName); err != nil {
		panic(err)
	}
	// Rows of a previous incarnation expire as any: re-arm for them.
	n.armExpiry()
	if !n.cfg.Silent {
		n.advertise(ctx)
		n.advertiseWhenConsuming(ctx.Self())
	}
}

// advertiseWhenConsuming advertises again as soon as the listener
// consumes (kz_nodes starts its heartbeats when its queue is created): the
// first advertisement goes out once the broker is there, not a period
// later.
func (n *nodesActor) advertiseWhenConsuming(self *actor.PID) {
	wctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	path, reg, env := self.Id+"/"+ListenerName, n.env.Registry, n.env
	env.Go(func() { // on the tree's group: Shutdown waits for it (Stopping cancels it)
		defer cancel()
		err := reg.Wait(wctx, func(s *registry.Snapshot) (bool, error) {
			l, ok := s.Listener(path)
			return ok && l.State == registry.ListenerConsuming, nil
		})
		if err == nil {
			env.Send(self, &advertiseNow{})
		}
	})
}

// listenerSpec is kz_nodes' gen_listener: an anonymous queue bound to
// the nodes exchange, handing every advertisement to the actor.
func (n *nodesActor) listenerSpec(self *actor.PID) listener.Spec {
	env := n.env
	drop := func(context.Context, *listener.Delivery) error { return nil }
	return listener.Spec{
		Name:     ListenerName,
		App:      Name,
		Queue:    listener.QueueSpec{Exclusive: true, AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: Exchange, RoutingKey: RoutingKey}},
		Prefetch: 100,
		Workers:  1,
		OnError:  listener.Discard,
		Dispatch: listener.DispatchOne, // the catch-all takes only what is not a heartbeat
		Handlers: []listener.Route{
			{Category: Category, Name: EventName, Handler: func(_ context.Context, d *listener.Delivery) error {
				env.Send(self, &heard{env: d.Envelope, at: time.Now()})
				return nil
			}},
			{Handler: drop}, // anything else on the exchange is not ours to judge
		},
		Raw: drop,
	}
}

// advertise publishes this node's advertisement, writes its own row and
// sets the timer of the next one.
func (n *nodesActor) advertise(ctx actor.Context) {
	period := n.cfg.period()
	self := ctx.Self()
	if n.adTimer != nil {
		n.adTimer.Stop() // one chain of advertisements, whoever asked for this one
	}
	n.adTimer = time.AfterFunc(period, func() { n.env.Send(self, &advertiseNow{}) })
	now := time.Now()
	e := advertisement(n.cfg, appsOf(n.env.Registry.Snapshot()), n.started, period)
	if err := e.Prepare(kazoo.Defaults{}); err != nil {
		n.log.Error("advertisement does not validate", "err", err) // a bug: our own fields
		return
	}
	if row, err := nodeOf(e, now, n.cfg.Zone); err == nil {
		row.Self = true
		if err := n.w.PutNode(row); err != nil {
			n.log.Error("write own node row", "err", err)
		}
	}
	if n.publishing {
		return // the last one is still waiting for a publisher: skip this one, as kz_nodes' maybe_publish
	}
	if _, up := n.env.Registry.Primary(n.cfg.Zone); !up {
		// kz_nodes publishes only while its primary broker is connected:
		// an advertisement must not take a publish buffer's place while
		// the zone is down.
		return
	}
	body, err := e.Marshal()
	if err != nil {
		n.log.Error("marshal advertisement", "err", err)
		return
	}
	n.publishing = true
	publish := n.cfg.Publish
	n.env.Go(func() {
		pctx, cancel := context.WithTimeout(context.Background(), period)
		defer cancel()
		err := publish(pctx, body)
		n.env.Send(self, &published{err: err})
	})
}

func (n *nodesActor) logPublish(err error) {
	switch {
	case err != nil && !n.lastPubFail:
		n.log.Warn("advertisement not published; trying again next period", "err", redact.Error(err))
	case err == nil && n.lastPubFail:
		n.log.Info("advertising again")
	}
	n.lastPubFail = err != nil
}

// record writes the row of a node heard, unless it is this node's own
// advertisement (kz_nodes consumes with no_local and skips its own Node).
func (n *nodesActor) record(m *heard) {
	row, err := nodeOf(m.env, m.at, n.cfg.Zone)
	if err != nil {
		n.log.Debug("advertisement ignored", "err", redact.Error(err))
		return
	}
	if row.Name == n.cfg.Node {
		return
	}
	if err := n.w.PutNode(row); err != nil {
		n.log.Error("write node row", "node", row.Name, "err", err)
		return
	}
	n.armExpiryAt(row.Expires)
}

// expire forgets the nodes not heard again before their expiry, then sets
// the timer to the next expiry.
func (n *nodesActor) expire(now time.Time) {
	for _, row := range n.env.Registry.Nodes() {
		if !row.Self && !row.Expires.After(now) {
			if err := n.w.DeleteNode(row.Name); err != nil {
				n.log.Error("forget node", "node", row.Name, "err", err)
				continue
			}
			n.log.Info("node expired", "node", row.Name, "zone", row.Zone, "last_heard", row.Heard)
		}
	}
	n.armExpiry()
}

// armExpiry sets the expiry timer to the earliest expiry of the rows.
func (n *nodesActor) armExpiry() {
	var next time.Time
	for _, row := range n.env.Registry.Nodes() {
		if !row.Self && (next.IsZero() || row.Expires.Before(next)) {
			next = row.Expires
		}
	}
	if n.expTimer != nil {
		n.expTimer.Stop()
		n.expTimer = nil
	}
	if !next.IsZero() {
		n.setExpiryTimer(next)
	}
}

// armExpiryAt makes the expiry timer fire by at.
func (n *nodesActor) armExpiryAt(at time.Time) {
	if n.expTimer != nil && !n.expAt.After(at) {
		return
	}
	if n.expTimer != nil {
		n.expTimer.Stop()
	}
	n.setExpiryTimer(at)
}

func (n *nodesActor) setExpiryTimer(at time.Time) {
	n.expGen++
	gen, self := n.expGen, n.self
	n.expAt = at
	n.expTimer = time.AfterFunc(time.Until(at), func() { n.env.Send(self, &expireNow{gen: gen}) })
}

func (n *nodesActor) stopTimers() {
	if n.cancel != nil {
		n.cancel()
	}
	for _, t := range []*time.Timer{n.adTimer, n.expTimer} {
		if t != nil {
			t.Stop()
		}
	}
	n.expGen++
}
