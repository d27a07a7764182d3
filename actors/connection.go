package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
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
	env     *Env
	spec    BrokerSpec
	plan    dialPlan
	backoff Backoff
	log     *slog.Logger

	self    *actor.PID
	fsm     connFSM             // the pure state machine (connection_fsm.go)
	row     registry.Connection // last row reported
	gen     uint64              // process-wide; bumped for every dial and every teardown
	sess    *session            // the live session, nil unless connected/blocked
	timer   *time.Timer         // pending redial
	probing context.CancelFunc  // stops the port probe running while the redial waits
	dialing *dialSlot           // the dial in flight, if any
	lastOK  time.Time
	refused string // detail line part: exchanges the broker refused
	// logged is the permanent dial error last logged at Error: the same
	// error on the next retries is logged at Debug only (the row keeps it).
	logged  string
	drained bool // the broker is being drained: the detail line says so
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
		b := spec.Options.Backoff.withDefaults(local)
		return &connection{
			env: env, spec: spec, plan: plan, backoff: b,
			log: env.Log.With("actor", "connection", "broker", spec.ID, "zone", spec.Zone, "role", spec.Role()),
			fsm: connFSM{State: registry.Disconnected, MaxAttempts: b.MaxAttempts},
		}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, ""))), nil
}

var _ actor.Actor = (*connection)(nil)

func (c *connection) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.self = ctx.Self()
		c.gen = NextGeneration()
		c.row = registry.Connection{
			ID: c.spec.ID, Broker: c.spec.Broker(), Role: c.spec.Role(), Zone: c.spec.Zone, Local: c.spec.Zone == c.env.LocalZone,
			URI: c.spec.URI().String(), Actor: c.self.Id, Prechannels: max(0, c.spec.Prechannels),
			Tags: c.spec.Tags, Hidden: c.spec.Hidden,
		}
		if row, ok := c.env.Registry.Connection(c.spec.ID); ok && row.Draining { // restarted by its supervisor
			c.drained = true
			c.row.Draining = true
			c.setDetail()
		}
		c.report()
		c.apply(evDial, connInput{}) // Kazoo waits 1.5s before the first dial; Warren does not
	case *actor.Stopping, *actor.Restarting:
		c.apply(evStop, connInput{})
		if d := c.dialing; d != nil { // a dial still running: its session is closed, never adopted
			if res := d.abandon(); res != nil {
				c.env.Go(func() { res.close(setupCloseTimeout) })
			}
		}
	case *dialNow:
		if m.gen == c.gen {
			c.apply(evDial, connInput{})
		}
	case *dialed:
		res := m.slot.take()
		if m.slot == c.dialing {
			c.dialing = nil
		}
		switch {
		case m.gen != c.gen: // an abandoned attempt: drop what it built
			if res != nil {
				c.env.Go(func() { res.close(setupCloseTimeout) })
			}
		default:
			c.apply(dialEvent(m.err, m.stage), connInput{sess: res, took: m.took, err: m.err, stage: m.stage})
		}
	case *connLost:
		if m.gen == c.gen {
			var why error = errors.New("connection closed")
			if m.err != nil {
				why = m.err
			}
			c.apply(evLost, connInput{err: why})
		}
	case *connBlocked:
		if m.gen == c.gen {
			ev := evUnblocked
			if m.active {
				ev = evBlocked
			}
			c.apply(ev, connInput{reason: m.reason})
		}
	case *channelsReady:
		c.onChannelsReady(m)
	case *openChannels:
		c.onOpenChannels(ctx, m)
	case *DeclareExchange:
		c.onDeclare(ctx, m)
	case *ApplyTopology:
		c.onApplyTopology(m)
	case *drainMark:
		c.drained = m.on
		c.row.Draining = m.on
		c.setDetail()
	}
}

// connInput is what came with an event: the new session, the error, the
// block reason.
type connInput struct {
	sess   *session
	took   time.Duration
	err    error
	stage  dialStage // how far a failed dial got
	reason string
}

// apply runs ev through the state machine and carries out its actions.
func (c *connection) apply(ev connEvent, in connInput) {
	prev := c.fsm.State
	next, acts := c.fsm.next(ev)
	c.fsm = next
	if acts.has(actTeardown) {
		c.teardown(in.err)
	}
	if acts.has(actCancelDial) {
		c.stopTimer()
	}
	if acts.has(actDial) {
		c.startDial()
	}
	if acts.has(actAdopt) {
		c.adopt(in.sess, in.took)
	}
	var delay time.Duration
	switch {
	case acts.has(actRetry):
		delay = c.backoff.Delay(c.fsm.Tries)
	case acts.has(actRetryMax):
		delay = c.backoff.MaxDelay()
	case acts.has(actRetryFirst):
		delay = c.backoff.Delay(1)
	}
	if delay > 0 {
		c.scheduleDial(delay, acts.has(actProbe))
	}
	switch ev {
	case evDialFailed, evPortClosed, evDialRefused:
		msg := redact.Error(in.err)
		switch {
		case acts.has(actGiveUp):
			c.stopTimer()
			msg = fmt.Sprintf("%v after %d attempts: %s", ErrGaveUp, c.fsm.Tries, msg)
			c.log.Error("giving up", "attempts", c.fsm.Tries, "err", msg)
		case ev == evDialRefused && msg == c.logged:
			c.log.Debug("dial refused again", "attempt", c.fsm.Tries, "next", delay.Round(time.Millisecond), "err", msg)
		case ev == evDialRefused:
			c.logged = msg
			c.log.Error("dial refused: retrying cannot fix this, fix the broker or its URI; retrying at the maximum delay meanwhile",
				"attempt", c.fsm.Tries, "next", delay.Round(time.Millisecond), "err", msg)
		default:
			c.logged = ""
			c.log.Warn("dial failed", "attempt", c.fsm.Tries, "stage", in.stage, "next", delay.Round(time.Millisecond), "probing", acts.has(actProbe), "err", msg)
		}
		c.row.LastError = msg
		c.row.Refused = ev == evDialRefused
	case evBlocked:
		if prev != c.fsm.State {
			c.log.Warn("broker blocked the connection", "reason", in.reason)
			c.row.LastError = "blocked: " + in.reason
		}
	case evUnblocked:
		if prev != c.fsm.State {
			c.log.Info("broker unblocked the connection")
			c.row.LastError = ""
		}
	case evLost:
		if prev != c.fsm.State {
			c.log.Warn("connection lost", "err", redact.Error(in.err), "next", delay.Round(time.Millisecond))
			c.row.LastError = redact.Error(in.err)
		}
	}
	if acts.has(actReport) {
		c.report()
	}
}

// adopt makes s the live session and hands its prechannels to assignments.
func (c *connection) adopt(s *session, took time.Duration) {
	c.sess = s
	c.lastOK = time.Now()
	c.row.Connects++
	c.row.LastError, c.row.Refused, c.logged = "", false, ""
	c.row.ChannelMax = int(s.conn.Config.ChannelMax)
	c.row.FrameMax = s.conn.Config.FrameSize
	c.row.Heartbeat = s.conn.Config.Heartbeat
	c.row.Product, c.row.Version = s.serverInfo()
	c.row.ExchangeErrors = s.refused
	for _, e := range s.refused {
		c.log.Error("exchange or binding not declared; publishes through it will fail", "err", e)
	}
	c.refused = ""
	if len(s.refused) > 0 {
		c.refused = fmt.Sprintf("%d exchange(s) refused: %s", len(s.refused), strings.Join(s.refused, "; "))
	}
	c.setDetail()
	c.watch(s)
	c.catchUp(s)
	// Assignments first: a reader that sees the row available can ask for a
	// channel at once.
	c.send(c.env.PID(AssignmentsName), &brokerUp{broker: c.spec.ID, base: c.spec.Broker(), tags: c.spec.Tags, hidden: c.spec.Hidden, maxConns: c.spec.MaxConnections, zone: c.spec.Zone, role: c.spec.Role(), conn: c.self, channels: s.prechannels, target: max(0, c.spec.Prechannels), channelMax: c.row.ChannelMax})
	s.prechannels = nil
	c.log.Info("connected", "took", took, "channel_max", c.row.ChannelMax, "heartbeat", c.row.Heartbeat)
}

func (c *connection) send(pid *actor.PID, msg any) { c.env.Send(pid, msg) }

// dialing reports a state of a connection that is down: between two dials
// or in one.
func dialing(st registry.ConnState) bool {
	return st == registry.Disconnected || st == registry.Connecting
}

// report sends the row, with the machine's state, to the connections actor.
func (c *connection) report() {
	st := c.fsm.State
	if c.row.Since.IsZero() || st != c.row.State && !(dialing(st) && dialing(c.row.State)) {
		// Since is when the connection went down, not its last dial:
		// disconnected and connecting, one dial after another, are one
		// state for it.
		c.row.Since = time.Now()
	}
	c.row.State = st
	c.row.Available = st == registry.Connected || st == registry.Blocked
	c.row.Attempts = c.fsm.Tries
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
	if c.probing != nil {
		c.probing()
		c.probing = nil
	}
}

// scheduleDial arms the next dial after delay and, with probePort (the
// last dial's TCP connect was refused), probes the broker's port meanwhile
// (connection_probe.go): whichever comes first sends the dial. Without
// probePort the dial comes at the row's NextDial.
func (c *connection) scheduleDial(delay time.Duration, probePort bool) {
	c.stopTimer()
	gen, self, env := c.gen, c.self, c.env
	c.timer = time.AfterFunc(delay, func() { env.Send(self, &dialNow{gen: gen}) })
	c.row.NextDial = time.Now().Add(delay)
	if addr := probeAddr(c.plan.uri); probePort && addr != "" && delay > probeEvery {
		ctx, cancel := context.WithCancel(context.Background())
		c.probing = cancel
		down := c.row.Since
		if down.IsZero() {
			down = time.Now()
		}
		env.Go(func() { probe(ctx, addr, down, func() { env.Send(self, &dialNow{gen: gen}) }) })
	}
}

// startDial runs dial in a goroutine; the result comes back as *dialed.
func (c *connection) startDial() {
	c.gen = NextGeneration()
	gen, spec, plan, env, self := c.gen, c.spec, c.plan, c.env, c.self
	topo := c.recordedTopology() // read here: catchUp compares with it after the dial
	slot := &dialSlot{}
	c.dialing = slot
	env.Go(func() { // Shutdown waits for dials in flight (bounded by the connection timeout)
		start := time.Now()
		res, stage, err := dial(spec, plan, slot, topo)
		if !slot.deliver(res) { // the actor stopped meanwhile: nobody will take it
			if res != nil {
				res.close(setupCloseTimeout)
			}
			return
		}
		env.Send(self, &dialed{gen: gen, slot: slot, err: err, stage: stage, took: time.Since(start)})
	})
}

// dialSlot hands a dial's session from its goroutine to the actor. The
// session waits in the slot, not in the message, so that a session whose
// message is dropped (the actor stopped before reading it) is still closed:
// by the actor when it stops (abandon), or by the goroutine when it finds
// the slot abandoned.
type dialSlot struct {
	mu        sync.Mutex
	res       *session
	link      *Link // the socket being dialed
	abandoned bool
}

// watch keeps the socket of the dial, so that abandoning the slot aborts a
// handshake in progress.
func (d *dialSlot) watch(l *Link) {
	d.mu.Lock()
	d.link = l
	d.mu.Unlock()
}

// deliver leaves res in the slot; false means the actor stopped: res is
// the caller's to close.
func (d *dialSlot) deliver(res *session) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.abandoned {
		return false
	}
	d.res = res
	return true
}

// take returns the session left in the slot, once.
func (d *dialSlot) take() *session {
	d.mu.Lock()
	defer d.mu.Unlock()
	res := d.res
	d.res = nil
	return res
}

// abandon marks the slot unwanted and returns what was left in it.
func (d *dialSlot) abandon() *session {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.abandoned = true
	res := d.res
	d.res = nil
	if res == nil {
		d.link.Abort() // a handshake in progress fails at once (nil: not dialed yet)
	}
	return res
}

// teardown drops the live session, if any, and closes it in a goroutine.
func (c *connection) teardown(why error) {
	c.gen = NextGeneration()
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
		err := &BrokerError{Broker: c.spec.ID, Op: "declare exchange " + m.Exchange.Name, Err: ErrNotConnected}
		if m.Reply != nil {
			m.Reply <- err
		} else {
			ctx.Respond(&ExchangeDeclared{Err: err})
		}
		return
	}
	if m.Reply != nil {
		s, id := c.sess, c.spec.ID
		c.env.Go(func() { // ends when the command does, or the session's socket closes
			err := s.control(func(ch *amqp.Channel) error {
				if m.Passive {
					return ch.ExchangeDeclarePassive(m.Exchange.Name, "direct", false, false, false, false, nil)
				}
				return declareExchange(ch, m.Exchange)
			})
			if err != nil {
				err = &BrokerError{Broker: id, Op: "declare exchange " + m.Exchange.Name, Err: err}
			}
			m.Reply <- err
		})
		return
	}
	s, id := c.sess, c.spec.ID
	f := actor.NewFuture(c.env.System, 30*time.Second)
	go func() {
		err := s.control(func(ch *amqp.Channel) error {
			if m.Passive {
				return ch.ExchangeDeclarePassive(m.Exchange.Name, "direct", false, false, false, false, nil)
			}
			return declareExchange(ch, m.Exchange)
		})
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

// setDetail sets the actor's line in the tree: draining, and the exchanges
// the broker refused.
func (c *connection) setDetail() {
	parts := make([]string, 0, 2)
	if c.drained {
		parts = append(parts, "draining")
	}
	if c.refused != "" {
		parts = append(parts, c.refused)
	}
	c.env.SetDetail(c.self, strings.Join(parts, "; "))
}
