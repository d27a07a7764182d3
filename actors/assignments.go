package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// assignments maps consumers to channels: Kazoo's kz_amqp_assignments. Its
// decisions are the pure rules of assignments_placement.go; this actor keeps
// the maps, talks to connections and consumers, and writes the table.
//
// Owner:    its mailbox; fields are touched only inside Receive.
// Writes:   the assignments table, nobody else does; every message's changes
// .         are committed in one transaction (flush).
// Blocking: channels are opened by the connection actors and closed in
// .         goroutines; a goroutine per channel forwards its close.
type assignments struct {
	env *Env
	w   registry.AssignmentsWriter // the table's only writer
	log *slog.Logger

	brokers   map[string]*brokerInfo      // brokers that have been up, by id
	pools     map[string][]*openedChannel // prechannels by broker
	chans     map[string]*openedChannel   // every live channel we handed out or hold, by id
	owner     map[string]*consumer        // channel id -> consumer holding it
	consumers map[string]*consumer        // by consumer path
	seq       uint64

	puts map[string]registry.Assignment // rows to write at the end of this message
	dels map[string]bool                // rows to delete

	draining map[string]bool // connections being drained (DrainBroker), up or not
	count    map[string]int  // live channels by connection (in chans): placement's Channels
	growing  map[string]bool // brokers asked for one more connection (AddConnection), until one comes up
	self     *actor.PID

	watches map[string]*closeWatch // per connection: its channels' close watch (close_watch.go)
	waits   waitIndex              // the waiting consumers (assignments_waiting.go)
	waitBuf []consumerSlot         // waitingSlots' buffer
}

type brokerInfo struct {
	id, zone string // id is the connection id (see ConnID)
	base     string // the broker id (BrokerOf(id))
	tags     []string
	hidden   bool
	maxConns int // connections its broker may have (BrokerSpec.MaxConnections)
	role     registry.ConnRole
	conn     *actor.PID
	up       bool
	opening  int // channels asked for and not yet arrived
	target   int // prechannels its pool keeps
	// full: its last channels could not all be opened, its channel_max
	// (channelMax) being used up; consumers waiting for it are told so.
	full       bool
	channelMax int
	refill     bool // a channel was freed while full and an ask was on its way: ask again when it answers
}

type consumer struct {
	pid       *actor.PID
	app       string
	typ       registry.ChannelType
	role      registry.ConnRole
	zone      string
	sticky    string           // broker of a sticky consumer (ConnID of its first connection)
	tag       string           // RequestChannel.Tag
	want      string           // broker whose next channel is meant for it ("" for a float waiting on its zone)
	ch        *openedChannel   // nil while waiting
	canMove   bool             // RequestChannel.CanMove
	moving    bool             // holds ch on a draining broker and waits for a channel elsewhere
	olds      []*openedChannel // channels it moved off (ChannelAssigned.MovedFrom) and has not released yet
	reconnect bool
	state     registry.AssignState
	created   time.Time
	assigned  time.Time
	seq       uint64
	excCount  int
	lastExc   time.Time
	timer     *time.Timer
	reason    string     // why it waits, as told (ChannelWaiting) and on its row; "" for none
	reasonOf  string     // the broker reason is about
	wq        *waitQueue // its queue in waits while it waits (waitIndex.update)
	wi        int        // its index in wq
}

// NewAssignmentsProps returns the props of the assignments actor, which
// writes the assignments table through w (the tree hands it the only one).
func NewAssignmentsProps(env *Env, w registry.AssignmentsWriter) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &assignments{
			env: env, w: w, log: env.Log.With("actor", AssignmentsName),
			brokers: map[string]*brokerInfo{}, pools: map[string][]*openedChannel{},
			chans: map[string]*openedChannel{}, owner: map[string]*consumer{},
			consumers: map[string]*consumer{}, watches: map[string]*closeWatch{}, draining: map[string]bool{},
			count: map[string]int{}, growing: map[string]bool{},
		}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

var _ actor.Actor = (*assignments)(nil)

func (a *assignments) Receive(ctx actor.Context) {
	a.puts, a.dels = map[string]registry.Assignment{}, map[string]bool{}
	a.self = ctx.Self()
	switch m := ctx.Message().(type) {
	case *ConnectionAdded:
		a.onConnectionAdded(m)
	case *actor.Started:
		a.recover(ctx)
	case *RequestChannel:
		a.onRequest(ctx, m)
	case *ReleaseChannel:
		if m.Consumer == nil {
			break
		}
		if m.ID != "" && a.releaseOne(m.Consumer.Id, m.ID) {
			break
		}
		ctx.Unwatch(m.Consumer)
		a.release(m.Consumer.Id)
	case *DrainBroker:
		a.onDrain(m)
	case *drainMark: // a drained broker was removed
		for _, id := range m.ids {
			delete(a.draining, id)
		}
	case *actor.Terminated:
		a.release(m.Who.Id)
	case *brokerUp:
		a.onBrokerUp(m)
	case *brokerDown:
		a.onBrokerDown(m.broker, m.err)
	case *channelsOpened:
		a.onChannelsOpened(m)
	case *channelClosed:
		a.onChannelClosed(m)
	case *channelFreed:
		a.onChannelFreed(m)
	case *retryAssign:
		if c := a.consumers[m.consumer]; c != nil && c.ch == nil {
			c.timer = nil
			a.waits.update(c)
			a.place(c, "")
		}
	}
	a.checkWaits(nil)
	a.flush()
}

func (a *assignments) flush() {
	if len(a.puts) == 0 && len(a.dels) == 0 {
		return
	}
	err := a.w.Write(func(w *registry.AssignmentsTx) error {
		for id := range a.dels {
			if _, ok := a.puts[id]; ok {
				continue
			}
			if err := w.DeleteAssignment(id); err != nil {
				return err
			}
		}
		for _, row := range a.puts {
			if err := w.PutAssignment(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		a.log.Error("writing assignments", "err", err)
	}
}

func (a *assignments) onRequest(ctx actor.Context, m *RequestChannel) {
	if m.Consumer == nil {
		return
	}
	if c := a.consumers[m.Consumer.Id]; c != nil {
		if c.ch != nil { // asked again: say it again
			a.notifyAssigned(c)
		}
		return
	}
	c := &consumer{pid: m.Consumer, app: m.App, typ: m.Type, role: m.Role, zone: m.Zone, canMove: m.CanMove, tag: m.Tag, created: time.Now()}
	if c.typ == "" {
		c.typ = registry.Float
	}
	if c.role != registry.Publish || !a.env.SplitPublishing {
		c.role = registry.Consume // one connection per broker: it carries both
	}
	if c.typ == registry.Sticky && m.Broker != "" {
		c.sticky = ConnID(BrokerOf(m.Broker), c.role)
		if b := a.brokers[c.sticky]; b != nil && c.zone == "" {
			c.zone = b.zone
		}
	}
	if c.zone == "" {
		c.zone = a.env.LocalZone
	}
	a.seq++
	c.seq = a.seq
	a.consumers[c.pid.Id] = c
	ctx.Watch(c.pid)
	a.place(c, "")
}

// slot is what the placement rules know of c.
func (c *consumer) slot() consumerSlot {
	sl := consumerSlot{Key: c.pid.Id, Type: c.typ, Role: c.role, Zone: c.zone, Sticky: c.sticky, Want: c.want, Paused: c.timer != nil, Seq: c.seq,
		CanMove: c.canMove, Moving: c.moving, Tag: c.tag}
	if c.ch != nil {
		sl.Held = c.ch.broker
	}
	return sl
}

// slots returns what the placement rules know of every consumer.
func (a *assignments) slots() []consumerSlot {
	out := make([]consumerSlot, 0, len(a.consumers))
	for _, c := range a.consumers {
		out = append(out, c.slot())
	}
	return out
}

// waitingSlots returns the slots of the consumers waiting for a channel,
// from the waiting index, for wantOnUp when a connection comes up. The
// rules that run for every channel opened (nextWaiter, channelsToAsk) are
// not given a list at all: the index answers them (waitIndex.next,
// wanting), since listing even the waiters alone for each channel was
// quadratic when 20,000 listeners wait for their first channels. The
// slice is reused: valid until the next call.
func (a *assignments) waitingSlots() []consumerSlot {
	a.waitBuf = a.waits.slots(a.waitBuf[:0])
	return a.waitBuf
}

func (a *assignments) slotOf(b *brokerInfo) brokerSlot {
	return brokerSlot{ID: b.id, Zone: b.zone, Role: b.role, Up: b.up, Draining: a.draining[b.id],
		Broker: b.base, Channels: a.count[b.id] + b.opening, Full: b.full, Hidden: b.hidden, Tags: b.tags}
}

func (a *assignments) brokerSlots() []brokerSlot {
	out := make([]brokerSlot, 0, len(a.brokers))
	for _, b := range a.brokers {
		out = append(out, a.slotOf(b))
	}
	return out
}

// poolTarget is how many prechannels b's pool keeps: none while it is
// drained (floats take none of its channels, and a broker about to be
// stopped should hold nothing it does not have to).
func (a *assignments) poolTarget(b *brokerInfo) int {
	if a.draining[b.id] {
		return 0
	}
	return b.target
}

// place gives c a channel now if a prechannel is free, or makes it wait. A
// moving consumer that finds no broker to move to (none up but draining
// ones) stays where it is and waits for a broker of its zone to come up.
func (a *assignments) place(c *consumer, avoid string) {
	b := a.brokers[pickBroker(c.slot(), a.brokerSlots(), avoid)]
	if c.moving && (b == nil || a.draining[b.id]) {
		c.want = ""
		a.waits.update(c)
		return
	}
	if b == nil {
		c.want = c.sticky
		a.waits.update(c)
		a.wait(c)
		return
	}
	if pool := a.pools[b.id]; len(pool) > 0 {
		ch := pool[0]
		a.pools[b.id] = pool[1:]
		a.dels[ch.id] = true
		a.assign(c, ch)
		a.demand(b) // keep the pool full, as Kazoo refills one per assignment
		return
	}
	c.want = b.id
	a.waits.update(c)
	if !c.moving { // a moving consumer keeps its row: it still holds its channel
		a.wait(c)
	}
	a.demand(b)
}

func (a *assignments) wait(c *consumer) {
	c.state = registry.Waiting
	if c.reconnect {
		c.state = registry.Reconnecting
	}
	a.putConsumer(c)
}

// demand asks b for as many channels as consumers wait for it, less those
// already on their way.
func (a *assignments) demand(b *brokerInfo) {
	a.checkWaits(b)
	if n := channelsFor(a.waits.wanting(b.id), b.opening, len(a.pools[b.id]), a.poolTarget(b)); n > 0 {
		a.ask(b, n)
	}
}

func (a *assignments) ask(b *brokerInfo, n int) {
	b.opening += n
	a.env.Send(b.conn, &openChannels{n: n})
}

func (a *assignments) assign(c *consumer, ch *openedChannel) {
	if c.moving && c.ch != nil { // a move: the old channel stays c's until it releases it
		c.olds = append(c.olds, c.ch)
		a.putOld(c, c.ch)
		c.moving, c.reconnect = false, true
		a.log.Info("consumer moved off a draining broker", "consumer", c.pid.Id, "from", c.ch.id, "to", ch.id)
	}
	c.ch, c.want = ch, ""
	a.waits.update(c)
	c.reason, c.reasonOf = "", ""
	c.state, c.assigned = registry.Assigned, time.Now()
	a.owner[ch.id] = c
	a.notifyAssigned(c)
	c.reconnect = false
	a.putConsumer(c)
}

func (a *assignments) notifyAssigned(c *consumer) {
	m := &ChannelAssigned{ID: c.ch.id, Channel: c.ch.ch, Link: c.ch.link, Exchanges: c.ch.exchanges, Broker: c.ch.broker, Zone: c.ch.zone, Reconnect: c.reconnect}
	if n := len(c.olds); n > 0 {
		m.MovedFrom, m.Reconnect = c.olds[n-1].id, true
	}
	a.env.Send(c.pid, m)
}

// putOld writes the row of ch, a channel c moved off and still holds: keyed
// by the channel's id, in state Moving, so that the broker's rows show who
// still holds a channel there.
func (a *assignments) putOld(c *consumer, ch *openedChannel) {
	a.puts[ch.id] = registry.Assignment{ID: ch.id, Channel: ch.id, Consumer: c.pid.Id, App: c.app, Type: c.typ, Role: c.role,
		Broker: ch.broker, Zone: ch.zone, State: registry.Moving, Created: c.created, AssignedAt: c.assigned, CanMove: c.canMove, AMQP: ch.ch}
	delete(a.dels, ch.id)
}

// dropOld forgets c's old channel i (released, or its broker went down) and
// closes it when close is set.
func (a *assignments) dropOld(c *consumer, i int, close bool) {
	ch := c.olds[i]
	c.olds = append(c.olds[:i:i], c.olds[i+1:]...)
	a.untrack(ch.id)
	delete(a.owner, ch.id)
	a.dels[ch.id] = true
	if close {
		a.closeChannel(ch)
	}
}

// releaseOne gives back channel id of consumer key: an old channel of a
// move is closed and forgotten; a release of a channel it does not hold
// (any more) is ignored. It returns false when id is the consumer's
// current channel: the caller releases the consumer.
func (a *assignments) releaseOne(key, id string) bool {
	c := a.consumers[key]
	if c == nil {
		return true
	}
	for i, ch := range c.olds {
		if ch.id == id {
			a.dropOld(c, i, true)
			return true
		}
	}
	if c.ch != nil && c.ch.id == id {
		return false
	}
	a.log.Debug("release of a channel the consumer does not hold: ignored", "consumer", key, "channel", id)
	return true
}

// give hands a fresh channel of b to the oldest consumer waiting for it, or
// puts it in b's pool.
func (a *assignments) give(b *brokerInfo, ch *openedChannel) {
	a.track(ch)
	a.watchChannel(ch)
	a.checkWaits(b)
	if c := a.waits.next(a.slotOf(b)); c != nil {
		a.assign(c, ch)
		return
	}
	if surplus(len(a.pools[b.id]), a.poolTarget(b)) { // asked for a waiter that found another channel
		a.untrack(ch.id)
		a.closeChannel(ch)
		return
	}
	a.pools[b.id] = append(a.pools[b.id], ch)
	a.puts[ch.id] = registry.Assignment{ID: ch.id, Channel: ch.id, Broker: ch.broker, Zone: ch.zone,
		State: registry.Prechannel, Type: registry.Float, Created: time.Now(), AMQP: ch.ch}
}

// watchChannel has ch's close reported as *channelClosed: by the close
// watch of its connection, one goroutine per closeWatchShard channels.
func (a *assignments) watchChannel(ch *openedChannel) {
	w, ok := a.watches[ch.broker]
	if !ok {
		w = newCloseWatch(a.env, a.env.PID(AssignmentsName))
		a.watches[ch.broker] = w
	}
	w.watch(ch)
}

func (a *assignments) onBrokerUp(m *brokerUp) {
	b := a.brokers[m.broker]
	if b == nil {
		b = &brokerInfo{id: m.broker}
		a.brokers[m.broker] = b
	}
	b.zone, b.role, b.conn, b.up, b.opening, b.target = m.zone, m.role, m.conn, true, 0, m.target
	b.base, b.tags, b.hidden, b.maxConns = m.base, m.tags, m.hidden, m.maxConns
	if b.base == "" {
		b.base = BrokerOf(b.id)
	}
	delete(a.growing, b.base)
	b.full, b.refill, b.channelMax = false, false, m.channelMax
	for _, ch := range m.channels {
		a.give(b, ch)
	}
	// Floats of this zone with nowhere to go, and stickies for this broker,
	// now want this broker.
	for _, key := range wantOnUp(a.waitingSlots(), a.slotOf(b), a.brokerSlots()) {
		c := a.consumers[key]
		c.want = b.id
		a.waits.update(c)
		if c.reason != "" { // it waited on a full connection of this broker
			a.explain(c, c.reasonOf, "")
		}
	}
	a.demand(b)
}

func (a *assignments) onBrokerDown(id string, why error) {
	b := a.brokers[id]
	if b == nil || !b.up {
		return
	}
	b.up, b.opening, b.full, b.refill = false, 0, false, false
	for _, ch := range a.pools[id] {
		a.untrack(ch.id)
		a.dels[ch.id] = true
	}
	delete(a.pools, id)
	for _, c := range a.consumers { // channels moved off this broker died with it
		for i := len(c.olds) - 1; i >= 0; i-- {
			if c.olds[i].broker == id {
				a.dropOld(c, i, false)
			}
		}
	}
	moved := movesOnDown(a.slots(), id)
	for _, m := range moved {
		c := a.consumers[m.Key]
		if m.Lose {
			a.lose(c, why)
		} else {
			c.want = ""
			a.waits.update(c)
		}
	}
	for _, m := range moved {
		a.place(a.consumers[m.Key], id)
	}
	if len(moved) > 0 {
		a.log.Info("broker down: consumers moved or waiting", "broker", id, "consumers", len(moved))
	}
	a.explainWaits(b) // no channel_max to blame while it is down
}

// lose detaches c from its channel and tells it so.
func (a *assignments) lose(c *consumer, why error) {
	ch := c.ch
	a.untrack(ch.id)
	delete(a.owner, ch.id)
	c.ch, c.reconnect, c.moving = nil, true, false
	a.waits.update(c)
	a.env.Send(c.pid, &ChannelLost{ID: ch.id, Broker: ch.broker, Err: why})
}

func (a *assignments) onChannelsOpened(m *channelsOpened) {
	b := a.brokers[m.broker]
	if b == nil {
		return
	}
	b.opening = max(0, b.opening-m.asked)
	for _, ch := range m.channels {
		if !b.up {
			a.env.Go(func() { _ = ch.ch.Close() })
			continue
		}
		a.give(b, ch)
	}
	if !b.up {
		return
	}
	switch {
	case errors.Is(m.err, ErrNoChannelLeft):
		if !b.full {
			b.full = true
			a.log.Warn("channel_max reached: consumers asking this connection for a channel go to another connection of its broker or wait until one is freed",
				"broker", b.id, "channel_max", b.channelMax, "waiting", a.waitingFor(b.id))
		}
		a.spill(b)
		a.explainWaits(b)
	case m.err != nil:
		a.log.Warn("broker could not open channels", "broker", m.broker, "err", redact.Error(m.err))
	case b.full && b.opening == 0:
		// Every ask is answered and this one's channels all opened (a
		// stream reports its failure after its channels): the broker had
		// room again. Nobody left waiting: it is no longer full. Consumers
		// still waiting were not asked for (an ask that failed earlier):
		// ask again, which ends with channels for them or a failure.
		if a.waitingFor(b.id) == 0 {
			b.full = false
			a.explainWaits(b)
		} else {
			b.refill = true
		}
	}
	if b.full && b.refill && b.opening == 0 { // channels were freed, or opened, while an ask was on its way
		b.refill = false
		a.demand(b)
	}
}

// onChannelFreed asks a broker whose channel_max was used up for channels
// again, now that one of its numbers is free: the consumers waiting for it
// get them, oldest first.
func (a *assignments) onChannelFreed(m *channelFreed) {
	b := a.brokers[m.broker]
	if b == nil || !b.up || !b.full {
		return
	}
	if b.opening > 0 { // its answer may come before the free: ask again then
		b.refill = true
		return
	}
	a.demand(b)
}

// closeChannel closes ch in a goroutine. While its broker's channel_max is
// used up, the actor hears once the channel's number is free again
// (amqp091 frees it when Close returns): see onChannelFreed.
func (a *assignments) closeChannel(ch *openedChannel) {
	b := a.brokers[ch.broker]
	full, env, self, broker := b != nil && b.full, a.env, a.env.PID(AssignmentsName), ch.broker
	a.env.Go(func() {
		_ = ch.ch.Close()
		if full {
			env.Send(self, &channelFreed{broker: broker})
		}
	})
}

// noChannelLeft is the reason a consumer waits for a broker whose
// channel_max is used up.
func noChannelLeft(broker string, channelMax int) string {
	return fmt.Sprintf("no channel left on broker %s: channel_max %d reached", broker, channelMax)
}

// waitingFor counts the consumers without a channel that wait for broker.
func (a *assignments) waitingFor(broker string) int {
	n := 0
	for _, c := range a.consumers {
		if c.ch == nil && c.want == broker {
			n++
		}
	}
	return n
}

// explainWaits tells the consumers waiting for b why (noChannelLeft) while
// b's channel_max is used up, and takes the reason back from those it no
// longer holds for: on their rows and with ChannelWaiting.
func (a *assignments) explainWaits(b *brokerInfo) {
	why := ""
	if b.up && b.full {
		why = noChannelLeft(b.id, b.channelMax)
		if a.growing[b.base] {
			why += "; another connection is being opened"
		}
	}
	for _, c := range a.consumers {
		switch {
		case c.ch != nil:
		case c.want == b.id && c.timer == nil:
			a.explain(c, b.id, why)
		case c.reasonOf == b.id:
			a.explain(c, b.id, "")
		}
	}
}

// explain sets why c waits for broker, when it changed.
func (a *assignments) explain(c *consumer, broker, why string) {
	if c.reason == why {
		return
	}
	c.reason, c.reasonOf = why, broker
	if why == "" {
		c.reasonOf = ""
	}
	a.putConsumer(c)
	a.env.Send(c.pid, &ChannelWaiting{Broker: broker, Reason: why})
}

func (a *assignments) onChannelClosed(m *channelClosed) {
	ch := a.chans[m.id]
	c := a.owner[m.id]
	if c != nil && c.ch != ch { // a channel c moved off: nothing to replace
		for i, old := range c.olds {
			if old.id == m.id {
				a.dropOld(c, i, false)
				break
			}
		}
		return
	}
	verdict := classifyClose(ch != nil, c != nil, m.err)
	if verdict == closeIgnored {
		return // released, or its broker already went down
	}
	a.untrack(m.id)
	if verdict == closePrechannel {
		pool := a.pools[ch.broker]
		for i, p := range pool {
			if p.id == m.id {
				a.pools[ch.broker] = append(pool[:i:i], pool[i+1:]...)
				break
			}
		}
		a.dels[m.id] = true
		a.onChannelFreed(&channelFreed{broker: ch.broker}) // the broker closed it: its number is free
		return
	}
	var why error
	if m.err != nil {
		why = m.err
	}
	if verdict == closeBroker {
		// A connection-level error reached the channel before the connection
		// actor's brokerDown: the whole broker is gone.
		c.ch = ch
		a.onBrokerDown(ch.broker, why)
		return
	}
	level := slog.LevelWarn
	if ae := (*amqp.Error)(nil); errors.As(why, &ae) && channelException(ae) {
		level = slog.LevelInfo // a refusal of the consumer's own (406, 404…): it gets ChannelLost and logs it once
	}
	a.log.Log(context.Background(), level, "channel closed; replacing it", "consumer", c.pid.Id, "channel", m.id, "err", redact.Error(why))
	c.ch = ch
	a.lose(c, why)
	now := time.Now()
	var delay time.Duration
	c.excCount, delay = exceptionRetry(c.excCount, c.lastExc, now)
	c.lastExc = now
	if delay > 0 {
		c.want = ""
		a.wait(c)
		env, self, id := a.env, a.env.PID(AssignmentsName), c.pid.Id
		c.timer = time.AfterFunc(delay, func() { env.Send(self, &retryAssign{consumer: id}) })
		a.waits.update(c)
		return
	}
	a.place(c, "")
}

func (a *assignments) release(id string) {
	c := a.consumers[id]
	if c == nil {
		return
	}
	delete(a.consumers, id)
	a.waits.remove(c)
	if c.timer != nil {
		c.timer.Stop()
	}
	a.dels[id] = true
	if ch := c.ch; ch != nil {
		a.untrack(ch.id)
		delete(a.owner, ch.id)
		a.closeChannel(ch)
	}
	for len(c.olds) > 0 {
		a.dropOld(c, 0, true)
	}
	if time.Since(c.assigned) < 5*time.Second && !c.assigned.IsZero() {
		a.log.Debug("short lived assignment", "consumer", id)
	}
}

func (a *assignments) putConsumer(c *consumer) {
	row := registry.Assignment{ID: c.pid.Id, Consumer: c.pid.Id, App: c.app, Type: c.typ, Role: c.role, Zone: c.zone,
		State: c.state, Created: c.created, AssignedAt: c.assigned, Reconnect: c.reconnect, CanMove: c.canMove,
		Tag: c.tag}
	switch {
	case c.ch != nil:
		row.Channel, row.Broker, row.AMQP = c.ch.id, c.ch.broker, c.ch.ch
	case c.sticky != "":
		row.Broker, row.Reason = c.sticky, c.reason
	default:
		row.Broker, row.Reason = c.want, c.reason
	}
	a.puts[row.ID] = row
	delete(a.dels, row.ID)
}

// recover rebuilds the actor's maps from the assignments and connections
// tables after a restart: channels and consumers survive the crash of the
// actor that tracks them. The channels' close watchers of the previous
// instance keep reporting to this PID.
func (a *assignments) recover(ctx actor.Context) {
	for _, row := range a.env.Registry.Connections() {
		if row.Draining {
			a.draining[row.ID] = true
		}
		if row.Available {
			a.brokers[row.ID] = &brokerInfo{id: row.ID, zone: row.Zone, role: row.Role, up: true, target: row.Prechannels,
				base: row.Broker, tags: row.Tags, hidden: row.Hidden, maxConns: DefaultMaxConnections,
				channelMax: row.ChannelMax, conn: a.env.System.NewLocalPID(row.Actor)}
		}
	}
	rows := a.env.Registry.Assignments()
	sort.Slice(rows, func(i, j int) bool { return rows[i].Created.Before(rows[j].Created) })
	var olds []registry.Assignment
	for _, row := range rows {
		var ch *openedChannel
		if row.AMQP != nil && a.brokers[row.Broker] != nil && !row.AMQP.IsClosed() {
			ch = &openedChannel{id: row.Channel, broker: row.Broker, zone: row.Zone, ch: row.AMQP}
			a.track(ch)
		}
		if row.State == registry.Moving { // after its consumer's row
			olds = append(olds, row)
			continue
		}
		if row.Consumer == "" {
			if ch != nil {
				a.pools[ch.broker] = append(a.pools[ch.broker], ch)
			} else {
				a.dels[row.ID] = true
			}
			continue
		}
		a.seq++
		role := row.Role
		if role == "" {
			role = registry.Consume
		}
		c := &consumer{pid: a.env.System.NewLocalPID(row.Consumer), app: row.App, typ: row.Type, role: role, zone: row.Zone,
			created: row.Created, assigned: row.AssignedAt, seq: a.seq, reconnect: row.Reconnect, canMove: row.CanMove, tag: row.Tag}
		if c.typ == registry.Sticky && row.Broker != "" && row.Tag == "" { // one that asked by tag roams again
			c.sticky = ConnID(BrokerOf(row.Broker), role)
		}
		a.consumers[row.Consumer] = c
		ctx.Watch(c.pid)
		if ch != nil {
			c.ch, c.state = ch, registry.Assigned
			a.owner[ch.id] = c
			a.putConsumer(c)
			continue
		}
		if row.State == registry.Assigned { // its channel died with the old instance
			c.reconnect = true
			a.env.Send(c.pid, &ChannelLost{ID: row.Channel, Broker: row.Broker})
		}
		a.place(c, "")
	}
	for _, row := range olds { // channels moved off, still held: their consumer's again
		c, ch := a.consumers[row.Consumer], a.chans[row.Channel]
		if c == nil || ch == nil {
			if ch != nil {
				a.untrack(ch.id)
				a.env.Go(func() { _ = ch.ch.Close() })
			}
			a.dels[row.ID] = true
			continue
		}
		c.olds = append(c.olds, ch)
		a.owner[ch.id] = c
	}
	for id := range a.draining { // moves the old instance had not finished
		if b := a.brokers[id]; b != nil && b.up {
			a.moveOff(id)
		}
	}
	if len(rows) > 0 {
		a.log.Warn("restarted: recovered assignments", "rows", len(rows), "consumers", len(a.consumers))
	}
}

// onDrain marks a broker draining (or not) and moves its floats off it.
func (a *assignments) onDrain(m *DrainBroker) {
	var ids []string
	for _, row := range a.env.Registry.Connections() {
		if row.Broker == m.Broker {
			ids = append(ids, row.ID)
		}
	}
	err := a.drain(m.Broker, ids, !m.Undrain)
	if m.Reply != nil {
		m.Reply <- err
	}
}

// drain sets the draining mark of ids, the connections of broker, and
// carries out what it means.
func (a *assignments) drain(broker string, ids []string, on bool) error {
	if len(ids) == 0 {
		return fmt.Errorf("warren: drain broker %s: %w", broker, registry.ErrNotFound)
	}
	if on {
		if zone := drainRefusal(a.brokerSlots(), ids); zone != "" {
			return fmt.Errorf("warren: drain broker %s: zone %q: %w", broker, zone, ErrLastBroker)
		}
	}
	a.env.Send(a.env.PID(ConnectionsName), &drainMark{ids: ids, on: on})
	for _, id := range ids {
		if a.draining[id] == on {
			continue
		}
		if on {
			a.draining[id] = true
			a.log.Info("draining broker", "broker", id)
			a.moveOff(id)
			continue
		}
		delete(a.draining, id)
		a.log.Info("broker no longer draining", "broker", id)
		for _, c := range a.consumers { // moves not done yet are called off
			if c.moving && c.ch != nil && c.ch.broker == id {
				c.moving, c.want = false, ""
				a.waits.update(c)
			}
		}
		if b := a.brokers[id]; b != nil && b.up {
			a.demand(b) // its pool fills again
		}
	}
	return nil
}

// moveOff empties draining connection id of floats: its prechannels are
// closed; floats holding one of its channels move or lose it; floats
// waiting for one look elsewhere.
func (a *assignments) moveOff(id string) {
	for _, ch := range a.pools[id] {
		a.untrack(ch.id)
		a.dels[ch.id] = true
		a.closeChannel(ch)
	}
	delete(a.pools, id)
	steps := movesOnDrain(a.slots(), id)
	for _, s := range steps {
		c := a.consumers[s.Key]
		switch s.Do {
		case drainMove:
			c.moving, c.want = true, ""
			a.waits.update(c)
		case drainLose:
			ch := c.ch
			a.lose(c, &BrokerError{Broker: id, Op: "drain", Err: ErrDraining})
			a.closeChannel(ch)
		case drainReplace:
			c.want = ""
			a.waits.update(c)
		}
	}
	for _, s := range steps {
		a.place(a.consumers[s.Key], id)
	}
	if len(steps) > 0 {
		a.log.Info("draining broker: floats moving off it", "broker", id, "consumers", len(steps))
	}
}
