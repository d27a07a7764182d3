package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// connection keeps one AMQP connection to one broker up: Kazoo's
// kz_amqp_connection, as a state machine of protoactor behaviours
// (connection_fsm.go).
//
// Owner:    its mailbox; fields are touched only inside Receive.
// Writes:   nothing directly; it reports its row to the connections actor,
// .         the connections table's only writer.
// Blocking: dialling, declaring, opening channels and closing run in
// .         goroutines that report back with messages tagged by gen.
type connection struct {
	env      *Env
	spec     BrokerSpec
	plan     dialPlan
	backoff  Backoff
	log      *slog.Logger
	behavior actor.Behavior

	self   *actor.PID
	row    registry.Connection // last row reported
	gen    int                 // bumped for every dial and every teardown
	tries  int                 // dial attempts since the last successful connect
	sess   *session            // the live session, nil unless connected/blocked
	timer  *time.Timer         // pending redial
	lastOK time.Time
}

// NewConnectionProps returns the props of the connection actor of spec, a
// normalized BrokerSpec.
func NewConnectionProps(env *Env, spec BrokerSpec) (*actor.Props, error) {
	plan, err := spec.Options.plan()
	if err != nil {
		return nil, err
	}
	local := spec.Zone == env.LocalZone
	return actor.PropsFromProducer(func() actor.Actor {
		c := &connection{
			env: env, spec: spec, plan: plan,
			backoff:  spec.Options.Backoff.withDefaults(local),
			log:      env.Log.With("actor", "connection", "broker", spec.ID, "zone", spec.Zone),
			behavior: actor.NewBehavior(),
		}
		c.behavior.Become(c.disconnected)
		return c
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, ""))), nil
}

var _ actor.Actor = (*connection)(nil)

func (c *connection) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.self = ctx.Self()
		c.row = registry.Connection{
			ID: c.spec.ID, Zone: c.spec.Zone, Local: c.spec.Zone == c.env.LocalZone,
			URI: c.spec.URI().String(), Actor: c.self.Id,
		}
		c.setState(registry.Disconnected, "")
		c.send(c.self, &dialNow{gen: c.gen}) // Kazoo waits 1.5s before the first dial; Warren does not
		return
	case *actor.Stopping:
		c.teardown(nil)
		c.stopTimer()
		return
	case *actor.Restarting:
		c.teardown(nil)
		c.stopTimer()
		return
	case *dialed:
		if m.gen != c.gen { // an abandoned attempt: drop what it built
			if m.res != nil {
				c.env.Go(func() { m.res.close(2 * time.Second) })
			}
			return
		}
	case *connLost:
		if m.gen != c.gen {
			return
		}
	case *connBlocked:
		if m.gen != c.gen {
			return
		}
	case *channelsReady:
		c.onChannelsReady(m)
		return
	case *openChannels:
		c.onOpenChannels(ctx, m)
		return
	case *DeclareExchange:
		c.onDeclare(ctx, m)
		return
	}
	c.behavior.Receive(ctx)
}

func (c *connection) send(pid *actor.PID, msg any) { c.env.Send(pid, msg) }

// setState reports a new row to the connections actor.
func (c *connection) setState(st registry.ConnState, lastErr string) {
	c.row.State = st
	c.row.Available = st == registry.Connected || st == registry.Blocked
	c.row.Attempts = c.tries
	if lastErr != "" {
		c.row.LastError = lastErr
	}
	c.row.Since = time.Now()
	if c.timer == nil {
		c.row.NextDial = time.Time{}
	}
	c.send(c.env.PID(ConnectionsName), &connectionStatus{row: c.row})
}

func (c *connection) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// scheduleDial arms the next dial after delay.
func (c *connection) scheduleDial(delay time.Duration) {
	c.stopTimer()
	gen, self, env := c.gen, c.self, c.env
	c.timer = time.AfterFunc(delay, func() { env.Send(self, &dialNow{gen: gen}) })
	c.row.NextDial = time.Now().Add(delay)
}

// startDial runs dial in a goroutine; the result comes back as *dialed.
func (c *connection) startDial() {
	c.stopTimer()
	c.gen++
	c.tries++
	gen, spec, plan, env, self := c.gen, c.spec, c.plan, c.env, c.self
	go func() {
		start := time.Now()
		res, err := dial(spec, plan)
		env.Send(self, &dialed{gen: gen, res: res, err: err, took: time.Since(start)})
	}()
}

// teardown drops the live session, if any, and closes it in a goroutine.
func (c *connection) teardown(why error) {
	c.gen++
	if c.sess == nil {
		return
	}
	s := c.sess
	c.sess = nil
	c.send(c.env.PID(AssignmentsName), &brokerDown{broker: c.spec.ID, err: why})
	c.env.Go(func() { s.close(2 * time.Second) })
}

// watch forwards the session's close and blocked notifications to the actor.
func (c *connection) watch(s *session) {
	gen, env, self := c.gen, c.env, c.self
	go func() {
		blocks := s.blocks
		for {
			select {
			case b, ok := <-blocks:
				if !ok {
					blocks = nil
					continue
				}
				env.Send(self, &connBlocked{gen: gen, active: b.Active, reason: b.Reason})
			case err := <-s.closes: // nil: closed by us
				env.Send(self, &connLost{gen: gen, err: err})
				return
			}
		}
	}()
}

func (c *connection) onOpenChannels(ctx actor.Context, m *openChannels) {
	if c.sess == nil {
		c.send(c.env.PID(AssignmentsName), &channelsOpened{broker: c.spec.ID, asked: m.n, err: &BrokerError{Broker: c.spec.ID, Op: "open channel", Err: ErrNotConnected}})
		return
	}
	s, gen, spec, env, self := c.sess, c.gen, c.spec, c.env, c.self
	go s.stream(spec, m.n, func(chans []*openedChannel, asked int, err error) {
		env.Send(self, &channelsReady{gen: gen, asked: asked, channels: chans, err: err})
	})
}

func (c *connection) onChannelsReady(m *channelsReady) {
	if m.err != nil {
		c.log.Warn("opening channels failed", "opened", len(m.channels), "err", redact.Error(m.err))
		if m.gen == c.gen {
			c.row.LastError = redact.Error(m.err)
			c.send(c.env.PID(ConnectionsName), &connectionStatus{row: c.row})
		}
	}
	c.send(c.env.PID(AssignmentsName), &channelsOpened{broker: c.spec.ID, asked: m.asked, channels: m.channels, err: m.err})
}

func (c *connection) onDeclare(ctx actor.Context, m *DeclareExchange) {
	if c.sess == nil {
		ctx.Respond(&ExchangeDeclared{Err: &BrokerError{Broker: c.spec.ID, Op: "declare exchange " + m.Exchange.Name, Err: ErrNotConnected}})
		return
	}
	s, id := c.sess, c.spec.ID
	f := actor.NewFuture(c.env.System, 30*time.Second)
	go func() {
		err := s.control(func(ch *amqpChannel) error { return declareExchange(ch, m.Exchange) })
		if err != nil {
			err = &BrokerError{Broker: id, Op: "declare exchange " + m.Exchange.Name, Err: err}
		}
		c.env.Send(f.PID(), &ExchangeDeclared{Err: err})
	}()
	ctx.ReenterAfter(f, func(res any, err error) {
		if err != nil {
			res = &ExchangeDeclared{Err: err}
		}
		ctx.Respond(res)
	})
}
