package publish

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// publisherFlushEvery is how often a publisher writes its counters to its
// row when they moved (and drains its channels' returns).
const publisherFlushEvery = 250 * time.Millisecond

// publisherPlainName is the name of a publisher's child that holds its
// channel for fire-and-forget publishes.
const publisherPlainName = "plain"

// publisher holds the channels of one lane of the publishers pool: its own,
// in confirm mode, and through its child "plain" a channel without
// confirms. It stores their states in the lane, through which callers
// write on the channels from their own goroutines. Both are consumers of
// the assignments protocol, like any listener.
//
// Owner:    its mailbox; fields are touched only inside Receive. The lane's
// .         states are stored only here.
// Writes:   its own row of the publishers table, nobody else does.
// Blocking: confirm.select runs in a goroutine that reports back with
// .         *publisherConfirmed; a goroutine per channel watches its broker's
// .         connections row and reports *publisherBlocked; a goroutine per
// .         channel moved off waits for its confirms and reports
// .         *publisherDrained.
type publisher struct {
	env  *actors.Env
	lane *publisherLane
	zone string
	log  *slog.Logger

	self  *actor.PID
	plain *actor.PID // the child holding slotPlain's channel
	slots [publisherSlots]publisherSlot
	// draining holds the channels moved off (ChannelAssigned.MovedFrom)
	// whose confirms are still outstanding, by channel id.
	draining map[string]*drainingChannel
	tick     *time.Timer
	row      registry.Publisher // last row written
	// stopping is set once the actor stops or restarts: what arrives
	// afterwards starts nothing and writes no row.
	stopping bool
}

// publisherSlot is one of a publisher's two channels.
type publisherSlot struct {
	gen       uint64                  // bumped for every channel assigned or lost
	assigned  *actors.ChannelAssigned // nil while waiting
	c         *laneChannel            // set once the channel is usable (in confirm mode, for slotConfirm)
	blocked   bool                    // its broker blocked publishing
	stopWatch context.CancelFunc
}

type publisherConfirmed struct {
	gen uint64
	c   *laneChannel
	err error
}

type publisherBlocked struct {
	slot    int
	gen     uint64
	blocked bool
}

// publisherPlainEvent carries a *actors.ChannelAssigned or *actors.ChannelLost of the
// plain child to its publisher.
type publisherPlainEvent struct{ msg any }

type publisherTick struct{}

// drainingChannel is a confirm-mode channel the publisher moved off: no new
// publish goes to it, and it is given back (actors.ReleaseChannel) once the
// confirms outstanding on it came in, or after the pool's ConfirmTimeout.
type drainingChannel struct {
	c      *laneChannel
	cancel context.CancelFunc // ends the goroutine waiting for the drain
}

// publisherDrained reports that the confirms outstanding on the channel id
// came in, or that the wait for them ran out.
type publisherDrained struct{ id string }

// SetEnv gives the pool its tree's env before the tree makes the
// publisher actors (Props gives it too, for a pool run on its own): a
// publish made before they exist, waiting for one, starts its span with
// the tree's tracer and carries its trace, instead of none. The first env
// given stays.
func (p *Pool) SetEnv(env *actors.Env) { p.env.CompareAndSwap(nil, env) }

// Props returns the props of the i-th publisher actor (1-based, as
// supervisor pools number their workers).
func (p *Pool) Props(env *actors.Env, i int) *actor.Props {
	lane := p.lanes[i-1]
	p.exchanges.SetEnv(env) // exchanges are checked through the tree's connection actors
	p.env.CompareAndSwap(nil, env)
	zone := p.cfg.Zone
	if zone == "" {
		zone = env.LocalZone
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &publisher{env: env, lane: lane, zone: zone, log: env.Log.With("actor", "publisher", "n", i)}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

var _ actor.Actor = (*publisher)(nil)

func (p *publisher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.self = ctx.Self()
		p.row = registry.Publisher{ID: p.self.Id, Zone: p.zone}
		if parent := ctx.Parent(); parent != nil {
			p.row.Pool = parent.Id[strings.LastIndex(parent.Id, "/")+1:]
		}
		p.draining = map[string]*drainingChannel{}
		cfg := p.lane.set.cfg
		ctx.Send(p.env.PID(actors.AssignmentsName), cfg.channelRequest(p.self, p.zone))
		plain, err := ctx.SpawnNamed(publisherPlainProps(p.env, cfg, p.zone), publisherPlainName)
		if err != nil {
			panic(err) // a name clash among our own children is a bug
		}
		p.plain = plain
		p.apply()
		p.armTick()
	case *actors.ChannelAssigned:
		p.onAssigned(slotConfirm, m)
	case *actors.ChannelLost:
		p.onLost(slotConfirm, m)
	case *publisherPlainEvent:
		switch e := m.msg.(type) {
		case *actors.ChannelAssigned:
			p.onAssigned(slotPlain, e)
		case *actors.ChannelLost:
			p.onLost(slotPlain, e)
		}
	case *publisherConfirmed:
		p.onConfirmed(m)
	case *publisherDrained:
		p.onDrained(m.id)
	case *publisherBlocked:
		s := &p.slots[m.slot]
		if m.gen == s.gen && m.blocked != s.blocked {
			s.blocked = m.blocked
			if m.slot == slotConfirm { // both channels see it; log once
				if m.blocked {
					p.log.Warn("broker blocked publishing; publishes wait", "broker", s.assigned.Broker)
				} else {
					p.log.Info("broker unblocked publishing", "broker", s.assigned.Broker)
				}
			}
			p.apply()
		}
	case *publisherTick:
		if p.stopping {
			return
		}
		p.lane.set.tick()
		for i := range p.slots {
			if c := p.slots[i].c; c != nil {
				p.lane.drain(c.returns)
			}
		}
		for _, d := range p.draining {
			p.lane.drain(d.c.returns)
		}
		p.flush(false)
		p.armTick()
	case *actor.Restarting:
		p.shutdown()
	case *actor.Stopping:
		p.shutdown()
	}
}

func (p *publisher) onAssigned(slot int, m *actors.ChannelAssigned) {
	if p.stopping {
		// protoactor still hands over user messages while the actor waits
		// for its children to stop: a channel given now would start a
		// broker watch no one cancels (the assignments actor takes the
		// channel back when the publisher is gone).
		return
	}
	var watchDrain func()
	if m.MovedFrom != "" {
		watchDrain = p.moveOff(slot, m)
	}
	p.detach(slot)
	s := &p.slots[slot]
	s.assigned = m
	c := p.lane.channelOf(slot, m.ID, m.Channel, m.Link) // before any publish: no return can be missed
	if slot == slotPlain {
		s.c = c
	} else {
		gen, env, self := s.gen, p.env, p.self
		go func() {
			err := c.ch.Confirm(false)
			env.Send(self, &publisherConfirmed{gen: gen, c: c, err: err})
		}()
	}
	p.watchBroker(slot)
	p.apply()
	if watchDrain != nil { // after apply: the lane no longer offers the old channel
		watchDrain()
	}
}

func (p *publisher) onLost(slot int, m *actors.ChannelLost) {
	if d := p.draining[m.ID]; d != nil { // its publishes still waiting are resent
		d.cancel()
		delete(p.draining, m.ID)
		return
	}
	if a := p.slots[slot].assigned; a != nil && a.ID == m.ID {
		p.closedByBroker(slot, m)
		p.detach(slot)
		p.apply()
	}
}

// closedByBroker learns the broker's max_message_size from a channel it
// closed over a message too large (see size.go), and counts and logs the
// close of a plain channel by a channel error: the fire-and-forget
// publishes written on it after the cause are lost, untold.
func (p *publisher) closedByBroker(slot int, m *actors.ChannelLost) {
	var ae *amqp.Error
	if m.Err == nil || !errors.As(m.Err, &ae) || ae == nil {
		return
	}
	set := p.lane.set
	if n, ok := brokerMaxSize(ae); ok {
		set.learned.Store(true)
		if set.learnMaxSize(n) {
			p.log.Warn("the broker's max_message_size is below the pool's: later publishes over it fail at once (ErrTooLarge)",
				"broker", m.Broker, "max_message_size", n)
		}
	}
	c := p.slots[slot].c
	if slot != slotPlain || !ae.Recover || c == nil {
		return
	}
	p.lane.plainClosed.Add(1)
	p.log.Error("the broker closed a fire-and-forget channel: the publishes written on it after the cause are lost",
		"channel", m.ID, "broker", m.Broker, "written_on_it", c.plainWrites.Load(), "err", redact.Error(ae))
}

func (p *publisher) onConfirmed(m *publisherConfirmed) {
	s := &p.slots[slotConfirm]
	if m.gen != s.gen || s.assigned == nil {
		return
	}
	if m.err != nil {
		// The channel is most likely closing (its actors.ChannelLost follows); if
		// not, closing it makes the assignments actor replace it.
		p.log.Warn("confirm mode refused; replacing the channel", "channel", s.assigned.ID, "err", redact.Error(m.err))
		ch := s.assigned.Channel
		p.env.Go(func() { _ = ch.Close() })
		return
	}
	s.c = m.c
	p.apply()
}

// moveOff starts a move of slot (m.MovedFrom set): new publishes go to
// m's channel as soon as the lane has it (onAssigned continues), the old
// channel is kept while confirms are outstanding on it, at most the pool's
// ConfirmTimeout, and then given back. A publish whose old channel closes
// before its ack is resent (see Pool.Publish). The plain channel, which
// waits for no confirm, and a channel never put in confirm mode are given
// back at once.
//
// It returns the start of the wait for the old channel's confirms, which
// onAssigned calls once the lane offers the old channel no more: the wait
// first takes the channel's writer lock, so that a publish which took the
// channel before the lane changed has counted itself (Pool.acquire gives up
// a channel the lane no longer offers), and only then looks at the count.
// Looking earlier let a last publish be written on a channel already given
// back: closed before its ack, it was resent, and consumed twice.
func (p *publisher) moveOff(slot int, m *actors.ChannelAssigned) func() {
	s := &p.slots[slot]
	var c *laneChannel
	if s.assigned != nil && s.assigned.ID == m.MovedFrom {
		c = s.c
	}
	p.log.Info("moving publishes to another channel", "from", m.MovedFrom, "to", m.ID, "broker", m.Broker)
	if slot == slotPlain || c == nil {
		p.release(slot, m.MovedFrom)
		return nil
	}
	wctx, cancel := context.WithCancel(context.Background())
	p.draining[m.MovedFrom] = &drainingChannel{c: c, cancel: cancel}
	env, self, id, wait := p.env, p.self, m.MovedFrom, p.lane.set.cfg.ConfirmTimeout
	return func() {
		go func() {
			lctx, lcancel := context.WithTimeout(wctx, wait)
			if c.lock(lctx) == nil {
				c.unlock()
			}
			lcancel()
			if wctx.Err() != nil {
				return
			}
			drained := c.whenDrained()
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-drained:
			case <-t.C:
			case <-wctx.Done():
				return
			}
			env.Send(self, &publisherDrained{id: id})
		}()
	}
}

// onDrained gives a channel moved off back once its confirms came in (or
// the wait for them ran out).
func (p *publisher) onDrained(id string) {
	d := p.draining[id]
	if d == nil || p.stopping {
		return
	}
	d.cancel()
	delete(p.draining, id)
	p.lane.drain(d.c.returns)
	p.release(slotConfirm, id)
}

// release gives the channel id of slot back to the assignments actor, for
// the actor holding it (the plain child holds slotPlain's).
func (p *publisher) release(slot int, id string) {
	holder := p.self
	if slot == slotPlain {
		holder = p.plain
	}
	p.env.Send(p.env.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: holder, ID: id})
}

// detach forgets slot's channel (lost, or replaced by a new one).
func (p *publisher) detach(slot int) {
	s := &p.slots[slot]
	s.gen = actors.NextGeneration()
	s.assigned, s.c, s.blocked = nil, nil, false
	p.lane.release(slot)
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
}

// watchBroker reports every change of slot's broker between blocked and not.
func (p *publisher) watchBroker(slot int) {
	s := &p.slots[slot]
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	reg, env, self, gen, broker := p.env.Registry, p.env, p.self, s.gen, s.assigned.Broker
	go func() {
		blocked := false
		for {
			_, err := reg.WaitConnection(wctx, broker, func(c registry.Connection) bool {
				return (c.State == registry.Blocked) != blocked
			})
			if err != nil {
				return // cancelled
			}
			blocked = !blocked
			env.Send(self, &publisherBlocked{slot: slot, gen: gen, blocked: blocked})
		}
	}()
}

// stateOf is the lane state of slot.
func (p *publisher) stateOf(slot int) *laneState {
	s := &p.slots[slot]
	if s.assigned == nil || s.c == nil {
		return laneWaiting
	}
	st := &laneState{status: registry.PublisherReady, c: s.c, broker: s.assigned.Broker}
	if s.blocked {
		st.status, st.blocked = registry.PublisherBlocked, true
	}
	return st
}

// apply publishes the actor's state to the lane and to its row: waiting
// while either channel is missing, blocked once both know their broker
// blocked publishing (until then a publish may still be written on one),
// else ready.
func (p *publisher) apply() {
	status := registry.PublisherReady
	blocked := 0
	for i := range p.slots {
		st := p.stateOf(i)
		if cur := p.lane.slots[i].Load(); cur.c != st.c || cur.status != st.status {
			p.lane.store(i, st)
		}
		switch st.status {
		case registry.PublisherBlocked:
			blocked++
		case registry.PublisherWaiting:
			status = registry.PublisherWaiting
		}
	}
	if status == registry.PublisherReady && blocked == len(p.slots) {
		status = registry.PublisherBlocked
	}
	row := p.row
	row.Broker, row.Channel, row.PlainChannel = "", "", ""
	if a := p.slots[slotConfirm].assigned; a != nil {
		row.Broker, row.Channel = a.Broker, a.ID
	}
	if a := p.slots[slotPlain].assigned; a != nil {
		row.PlainChannel = a.ID
	}
	changed := row.State != status
	if changed {
		row.State, row.Since = status, time.Now()
	}
	p.row = row
	p.flush(true)
	if changed { // after the row: a reader of the tree finds the row up to date
		detail := string(status)
		if row.Channel != "" {
			detail += " on " + row.Channel
		}
		p.env.SetDetail(p.self, detail)
	}
}

// flush writes the row when it changed (force) or its counters moved.
func (p *publisher) flush(force bool) {
	row := p.row
	p.lane.counters(&row)
	if row == p.row && !force {
		return
	}
	if err := p.env.Publishers.PutPublisher(row); err != nil {
		p.log.Error("writing publishers row", "err", err)
		return
	}
	p.row = row
}

func (p *publisher) armTick() {
	env, self := p.env, p.self
	p.tick = time.AfterFunc(publisherFlushEvery, func() { env.Send(self, &publisherTick{}) })
}

// shutdown takes the lane out of service and removes the row. The channels
// go back to the assignments actor, which closes them: publishes still
// awaiting their confirm are then resent once a lane has a channel again (a
// restarted publisher's), or fail with ErrNotConfirmed when their ctx,
// MaxWait or the pool's stop ends first. Pool.WaitIdle before a shutdown
// lets them come in.
func (p *publisher) shutdown() {
	p.stopping = true
	for id, d := range p.draining {
		// Given back now: a restarted instance does not know it (a stopped
		// actor's channels all go back anyway). Its publishes still
		// waiting for their ack are resent.
		d.cancel()
		delete(p.draining, id)
		p.release(slotConfirm, id)
	}
	for i := range p.slots {
		p.detach(i)
		p.lane.store(i, laneWaiting)
	}
	if p.tick != nil {
		p.tick.Stop()
	}
	id := p.self.Id
	_ = p.env.Publishers.DeletePublisher(id)
}

// publisherPlain holds a publisher's channel for fire-and-forget publishes
// and hands its assignment notices to the publisher.
//
// Owner:    its mailbox.
// Writes:   nothing (its actors row, through the lifecycle middleware).
// Blocking: none.
type publisherPlain struct {
	env  *actors.Env
	cfg  Config // the pool's: its pinning
	zone string
}

func publisherPlainProps(env *actors.Env, cfg Config, zone string) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &publisherPlain{env: env, cfg: cfg, zone: zone} },
		actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

func (c *publisherPlain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.Send(c.env.PID(actors.AssignmentsName), c.cfg.channelRequest(ctx.Self(), c.zone))
	case *actors.ChannelAssigned, *actors.ChannelLost:
		ctx.Send(ctx.Parent(), &publisherPlainEvent{msg: m})
	}
}
