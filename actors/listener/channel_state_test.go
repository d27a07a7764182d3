package listener

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
)

// TestChannelState_ReadersNeverSeeAMixedSnapshot replaces the channel state
// the way the actor does (a channel assigned, its queue declared, the
// channel lost) while readers load it the way delivery goroutines do, and
// checks that every value they see belongs to one channel: its broker,
// zone, link and channel are those assigned under its generation, its
// queue the one declared on it.
func TestChannelState_ReadersNeverSeeAMixedSnapshot(t *testing.T) {
	const rounds = 2000
	s := &listenerShared{}
	s.cur.Store(noChannel)

	type assigned struct {
		m     *actors.ChannelAssigned
		queue string
	}
	var byGen sync.Map // gen -> assigned, stored before the state is
	var done atomic.Bool
	var checked atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				st := s.current()
				if st.ch == nil {
					continue // no channel yet, or lost: nothing to check against
				}
				v, ok := byGen.Load(st.gen)
				if !ok {
					t.Errorf("generation %d was never assigned a channel", st.gen)
					return
				}
				a := v.(assigned)
				if st.ch != a.m.Channel || st.link != a.m.Link || st.broker != a.m.Broker || st.zone != a.m.Zone {
					t.Errorf("gen %d: channel %p link %p broker %q zone %q, assigned %p %p %q %q",
						st.gen, st.ch, st.link, st.broker, st.zone, a.m.Channel, a.m.Link, a.m.Broker, a.m.Zone)
					return
				}
				if st.queue != "" && st.queue != a.queue && st.queue != "q-prev" {
					t.Errorf("gen %d: queue %q, declared %q", st.gen, st.queue, a.queue)
					return
				}
				if got, ok := s.channelOf(st.gen); ok && got.gen != st.gen {
					t.Errorf("channelOf(%d) returned generation %d", st.gen, got.gen)
					return
				}
				checked.Add(1)
			}
		}()
	}
	for i := range rounds {
		gen := actors.NextGeneration()
		n := strconv.Itoa(i)
		m := &actors.ChannelAssigned{ID: "ch-" + n, Channel: &amqp.Channel{}, Link: &actors.Link{}, Broker: "broker-" + n, Zone: "zone-" + n}
		byGen.Store(gen, assigned{m: m, queue: "q-" + n})
		// The queue a replay declared stays until the next one declares it
		// again: the previous channel's is allowed until then.
		s.cur.Store(s.current().withQueue("q-prev").withChannel(gen, m))
		s.cur.Store(s.current().withQueue("q-" + n))
		if i%3 == 0 {
			s.cur.Store(s.current().lost(actors.NextGeneration()))
		}
	}
	done.Store(true)
	wg.Wait()
	if checked.Load() == 0 {
		t.Fatal("no reader saw a channel: the test checked nothing")
	}
}

// TestChannelState_LostKeepsTheBrokerAndDropsTheChannel: after a loss the
// row still names the broker, and no ack is written on the old channel.
func TestChannelState_LostKeepsTheBrokerAndDropsTheChannel(t *testing.T) {
	m := &actors.ChannelAssigned{ID: "c1", Channel: &amqp.Channel{}, Link: &actors.Link{}, Broker: "b1", Zone: "z1"}
	st := noChannel.withChannel(7, m).withQueue("q")
	lost := st.lost(8)
	if lost.gen != 8 || lost.ch != nil || lost.broker != "b1" || lost.zone != "z1" || lost.queue != "q" {
		t.Fatalf("lost = %+v", *lost)
	}
	if st.gen != 7 || st.ch != m.Channel {
		t.Fatalf("lost changed the state it was made from: %+v", *st)
	}
	s := &listenerShared{}
	s.cur.Store(lost)
	if _, ok := s.channelOf(7); ok {
		t.Fatal("channelOf(old generation) after a loss: want none")
	}
	if _, ok := s.channelOf(8); ok {
		t.Fatal("channelOf(generation of a lost channel): want none, it holds no channel")
	}
}
