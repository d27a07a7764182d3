package listener

import (
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
)

// channelState is what a delivery goroutine needs of the listener's current
// channel: one immutable value, stored whole in listenerShared.cur by the
// listener actor on every change and loaded once per use, so that a
// goroutine never sees a new channel with an old broker, or the generation
// of one channel with the link of another (publish's laneState is the
// model). A value is never changed once stored.
type channelState struct {
	gen    uint64        // the channel's generation; deliveries of older ones are stale
	ch     *amqp.Channel // nil once the channel is lost (gen moved on then)
	link   *actors.Link  // its connection's socket: acks and replies are watched for stalls
	acks   *acker        // writes the settlements of ch's deliveries; nil without a channel
	queue  string        // the queue's name, once a replay declared it
	broker string        // the broker the channel is on
	zone   string        // that broker's zone
}

// noChannel is the state before the first channel.
var noChannel = &channelState{}

// withChannel is st on the channel m assigned, under generation gen.
func (st *channelState) withChannel(gen uint64, m *actors.ChannelAssigned) *channelState {
	return &channelState{gen: gen, ch: m.Channel, link: m.Link, acks: newAcker(m.Channel, m.Link), queue: st.queue,
		broker: m.Broker, zone: m.Zone}
}

// lost is st once its channel is gone: generation gen (newer) makes the
// acks of the old channel's deliveries stale; the link, broker and zone
// stay for the row and for logs until the next channel.
func (st *channelState) lost(gen uint64) *channelState {
	c := *st
	c.gen, c.ch = gen, nil
	return &c
}

// withQueue is st with the queue a replay declared.
func (st *channelState) withQueue(queue string) *channelState {
	c := *st
	c.queue = queue
	return &c
}

// current returns the current channel state; never nil.
func (s *listenerShared) current() *channelState { return s.cur.Load() }
