package actors

import (
	"errors"

	"github.com/warrenmq/warren/registry"
)

// The assignments actor's side of several connections per broker: the
// channel count of each connection (placement's Channels), consumers
// spilling over to another connection of their broker when one runs out
// of channels, and one more connection asked for when they all have.

// track records ch as live: it counts on its connection.
func (a *assignments) track(ch *openedChannel) {
	if _, ok := a.chans[ch.id]; !ok {
		a.count[ch.broker]++
	}
	a.chans[ch.id] = ch
}

// untrack forgets live channel id.
func (a *assignments) untrack(id string) {
	ch, ok := a.chans[id]
	if !ok {
		return
	}
	delete(a.chans, id)
	if a.count[ch.broker]--; a.count[ch.broker] <= 0 {
		delete(a.count, ch.broker)
	}
}

// spill moves the consumers waiting for b, whose channel_max is used up,
// to another connection of their broker (or zone) that has channels left,
// and asks that one for their channels. When every connection of b's
// broker is used up and consumers still wait for b, it asks for one more
// connection (grow).
func (a *assignments) spill(b *brokerInfo) {
	brokers := a.brokerSlots()
	if siblingsFull(brokers, a.slotOf(b)) { // nowhere to spill to (placement takes the primary's connections): grow
		if b.role == registry.Consume && a.waitingFor(b.id) > 0 {
			a.grow(b.base)
		}
		return
	}
	asked := map[string]*brokerInfo{}
	for _, c := range a.consumers {
		if c.ch != nil || c.want != b.id || c.timer != nil {
			continue
		}
		if o := a.brokers[pickBroker(c.slot(), brokers, b.id)]; o != nil && o.up && !o.full && o.id != b.id {
			c.want = o.id
			a.waits.update(c)
			asked[o.id] = o
		}
	}
	for _, o := range asked {
		a.demand(o)
	}
	if b.role == registry.Consume && a.waitingFor(b.id) > 0 && siblingsFull(a.brokerSlots(), a.slotOf(b)) {
		a.grow(b.base)
	}
}

// grow asks the connections actor for one more consuming connection to
// broker, once until a connection of broker comes up (onBrokerUp) or the
// ask fails. The new connection takes the consumers waiting on its full
// siblings (wantOnUp).
func (a *assignments) grow(broker string) {
	if a.growing[broker] || a.self == nil {
		return
	}
	n, limit := 0, 0
	for _, b := range a.brokers {
		if b.base == broker && b.role == registry.Consume {
			n, limit = n+1, max(limit, b.maxConns)
		}
	}
	if n >= limit { // as many as it may: its waiters wait (the reason says channel_max)
		return
	}
	a.growing[broker] = true
	a.log.Info("every connection of the broker is out of channels: opening one more", "broker", broker)
	a.env.System.Root.RequestWithCustomSender(a.env.PID(ConnectionsName), &AddConnection{Broker: broker}, a.self)
}

// onConnectionAdded hears the answer to grow's ask. A broker that has as
// many connections as it may is not asked again until one of its
// connections comes up: its waiters keep waiting, and say why.
func (a *assignments) onConnectionAdded(m *ConnectionAdded) {
	if m.Err == nil {
		return
	}
	if !errors.Is(m.Err, ErrMaxConnections) {
		delete(a.growing, m.Broker)
	}
	a.log.Warn("could not open one more connection to a broker out of channels", "broker", m.Broker, "err", m.Err)
}
