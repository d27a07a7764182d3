package actors

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/registry"
)

// waitRig is an assignments actor driven by direct calls instead of its
// mailbox, with one broker "a:1" of zone local: what it sends to consumers
// and to the connection goes to dead letters, its channels' close watch is
// a sink.
type waitRig struct {
	a    *assignments
	b    *brokerInfo
	stop func()
}

func newWaitRig(tb testing.TB) *waitRig {
	tb.Helper()
	discard := slog.New(slog.DiscardHandler)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		actor.WithDeadLetterThrottleCount(1))
	reg, w := registry.New()
	stopping := make(chan struct{})
	env := &Env{System: sys, Registry: reg, Log: discard, LocalZone: "local", Stopping: stopping}
	a := &assignments{env: env, w: w.Assignments, log: discard,
		brokers: map[string]*brokerInfo{}, pools: map[string][]*openedChannel{},
		chans: map[string]*openedChannel{}, owner: map[string]*consumer{},
		consumers: map[string]*consumer{}, watches: map[string]*closeWatch{}, draining: map[string]bool{},
		count: map[string]int{}, growing: map[string]bool{},
		puts: map[string]registry.Assignment{}, dels: map[string]bool{}}
	b := &brokerInfo{id: "a:1", base: "a:1", zone: "local", role: registry.Consume, conn: sys.NewLocalPID("rig/conn"), maxConns: 1}
	a.brokers[b.id] = b
	// One shard that forgets what it is handed: the rig's channels are
	// never closed, and it never needs a second shard.
	shard := &watchShard{add: make(chan *openedChannel, closeWatchShard)}
	sink := shard.add
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sink {
			shard.n.Add(-1)
		}
	}()
	a.watches[b.id] = &closeWatch{shards: []*watchShard{shard}}
	return &waitRig{a: a, b: b, stop: func() {
		close(sink)
		<-done
		close(stopping)
		sys.Shutdown()
	}}
}

// request does what onRequest does for a float of zone local, without
// the watch.
func (r *waitRig) request(i int) *consumer {
	a := r.a
	c := &consumer{pid: a.env.System.NewLocalPID(fmt.Sprintf("rig/c%d", i)), typ: registry.Float, role: registry.Consume,
		zone: "local", created: time.Now()}
	a.seq++
	c.seq = a.seq
	a.consumers[c.pid.Id] = c
	a.place(c, "")
	return c
}

func (r *waitRig) channel(i int) *openedChannel {
	return &openedChannel{id: fmt.Sprintf("a:1#%d", i), broker: r.b.id, zone: "local", closed: make(chan *amqp.Error, 1)}
}

// message starts a message as Receive does: fresh rows to write.
func (r *waitRig) message() {
	r.a.puts, r.a.dels = map[string]registry.Assignment{}, map[string]bool{}
}

// BenchmarkAssignments_RequestThenGive is the scale suite's start in the
// assignments actor alone: n floats ask for a channel of the one broker
// up (each waits for it and asks the broker for one more), then n fresh
// channels arrive, each given to the oldest waiter. One op is the whole
// round; ns/channel is one request plus one give.
func BenchmarkAssignments_RequestThenGive(b *testing.B) {
	check := waitCheck // the tests' check scans every consumer at each use: not what is measured
	waitCheck = nil
	defer func() { waitCheck = check }()
	for _, n := range []int{2_000, 20_000} {
		b.Run(fmt.Sprintf("consumers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				r := newWaitRig(b)
				r.b.up = true
				chans := make([]*openedChannel, n)
				for i := range chans {
					chans[i] = r.channel(i)
				}
				b.StartTimer()
				for i := range n {
					r.message()
					r.request(i)
				}
				for _, ch := range chans {
					r.message()
					r.a.give(r.b, ch)
				}
				b.StopTimer()
				if len(r.a.owner) != n {
					b.Fatalf("%d of %d consumers got a channel", len(r.a.owner), n)
				}
				r.stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/channel")
		})
	}
}

// up brings connection id up as its connection actor would (brokerUp),
// with fresh channels.
func (r *waitRig) up(id, zone string, hidden bool, tags []string, fresh int) {
	m := &brokerUp{broker: id, zone: zone, base: BrokerOf(id), tags: tags, hidden: hidden, maxConns: 1,
		role: registry.Consume, conn: r.a.env.System.NewLocalPID("rig/conn-" + id)}
	for range fresh {
		m.channels = append(m.channels, r.next(id, zone))
	}
	if _, ok := r.a.watches[id]; !ok {
		r.a.watches[id] = r.a.watches[r.b.id] // the sink
	}
	r.message()
	r.a.onBrokerUp(m)
}

var rigChannels int

func (r *waitRig) next(broker, zone string) *openedChannel {
	rigChannels++
	return &openedChannel{id: fmt.Sprintf("%s#%d", broker, rigChannels), broker: broker, zone: zone, closed: make(chan *amqp.Error, 1)}
}

// opened answers the connection's ask with n fresh channels.
func (r *waitRig) opened(broker string, n int) {
	m := &channelsOpened{broker: broker, asked: n}
	for range n {
		m.channels = append(m.channels, r.next(broker, r.a.brokers[broker].zone))
	}
	r.message()
	r.a.onChannelsOpened(m)
}

// ask does what onRequest does, without the watch.
func (r *waitRig) ask(key string, typ registry.ChannelType, zone, sticky, tag string, canMove bool) *consumer {
	a := r.a
	c := &consumer{pid: a.env.System.NewLocalPID("rig/" + key), typ: typ, role: registry.Consume, zone: zone, tag: tag,
		canMove: canMove, created: time.Now()}
	if sticky != "" {
		c.sticky = sticky
	}
	a.seq++
	c.seq = a.seq
	a.consumers[c.pid.Id] = c
	r.message()
	a.place(c, "")
	return c
}

// check fails t when the waiting index differs from a scan of every
// consumer, or answers differently about a broker.
func (r *waitRig) check(t *testing.T, step string) {
	t.Helper()
	diffs := r.a.waitDiffs(nil)
	for _, b := range r.a.brokers {
		diffs = append(diffs, r.a.waitDiffs(b)...)
	}
	if len(diffs) > 0 {
		t.Fatalf("%s: the waiting index differs from a scan: %v", step, diffs)
	}
}

// TestAssignments_WaitingIndexMatchesAScan walks the assignments actor
// through what changes who waits — requests while no broker is up, brokers
// and a hidden tagged one coming up, channels arriving, a drain moving
// floats, channel exceptions (one paused), a broker going down, releases —
// and compares its waiting index with a scan of every consumer after each
// step: the queues, the next waiter and the count of waiters of each
// broker, and wantOnUp's answer. A consumer changed behind the index's
// back is caught.
func TestAssignments_WaitingIndexMatchesAScan(t *testing.T) {
	r := newWaitRig(t)
	defer r.stop()
	a := r.a
	var floats []*consumer
	for i := range 8 {
		floats = append(floats, r.ask(fmt.Sprintf("f%d", i), registry.Float, "local", "", "", true))
	}
	tagged := []*consumer{r.ask("t0", registry.Sticky, "local", "", "rec", false), r.ask("t1", registry.Sticky, "local", "", "rec", false)}
	sticky := r.ask("s0", registry.Sticky, "local", "b:2", "", false)
	east := r.ask("e0", registry.Float, "east", "", "", false)
	r.check(t, "all waiting, no broker up")
	if n := len(a.waits.queues); n != 4 {
		t.Fatalf("%d queues, want 4: floats of local, tagged rec, sticky b:2, floats of east", n)
	}

	r.up("a:1", "local", false, nil, 3)
	r.check(t, "a:1 up with 3 channels")
	if floats[0].ch == nil || floats[2].ch == nil || floats[3].ch != nil || tagged[0].ch != nil {
		t.Fatalf("a:1's 3 channels did not go to the 3 oldest floats")
	}
	r.opened("a:1", 5)
	r.check(t, "a:1 opened 5 more")
	for _, c := range floats {
		if c.ch == nil || c.ch.broker != "a:1" {
			t.Fatalf("float %s has no channel of a:1", c.pid.Id)
		}
	}
	r.up("h:9", "local", true, []string{"rec"}, 1)
	r.check(t, "hidden h:9 up with 1 channel")
	if tagged[0].ch == nil || tagged[1].ch != nil {
		t.Fatalf("h:9's channel did not go to the oldest tagged consumer")
	}
	r.opened("h:9", 1)
	r.up("b:2", "local", false, nil, 0)
	r.check(t, "b:2 up")
	if east.ch != nil || sticky.want != "b:2" || a.waits.wanting("b:2") != 1 {
		t.Fatalf("east %v, sticky want %q, waiting for b:2 %d", east.ch, sticky.want, a.waits.wanting("b:2"))
	}
	r.opened("b:2", 1)
	r.check(t, "b:2 opened 1")

	r.message()
	if err := a.drain("a:1", []string{"a:1"}, true); err != nil {
		t.Fatal(err)
	}
	r.check(t, "a:1 drained: CanMove floats moving")
	if !floats[0].moving || a.waits.wanting("b:2") != len(floats) {
		t.Fatalf("float moving %v, waiting for b:2 %d, want %d movers", floats[0].moving, a.waits.wanting("b:2"), len(floats))
	}
	r.opened("b:2", 2)
	r.check(t, "b:2 opened 2 for the movers")

	// Channel exceptions on a tagged consumer's channel: the first one
	// replaces it, the second one pauses it (out of the index).
	c := tagged[1]
	r.message()
	a.onChannelClosed(&channelClosed{id: c.ch.id, err: &amqp.Error{Code: 406, Recover: true}})
	r.check(t, "a channel exception")
	if c.ch != nil || c.want != "h:9" {
		t.Fatalf("after an exception: channel %v, want %q; want waiting for h:9", c.ch, c.want)
	}
	r.opened("h:9", 1)
	r.check(t, "its replacement")
	if c.ch == nil {
		t.Fatal("no replacement channel")
	}
	r.message()
	a.onChannelClosed(&channelClosed{id: c.ch.id, err: &amqp.Error{Code: 406, Recover: true}})
	r.check(t, "a second channel exception: paused")
	if c.timer == nil || c.wq != nil {
		t.Fatalf("after two exceptions: timer %v, queue %v; want paused, out of the index", c.timer, c.wq)
	}
	r.message()
	a.release(c.pid.Id)
	r.check(t, "the paused consumer released")

	r.message()
	a.onBrokerDown("b:2", nil)
	r.check(t, "b:2 down")
	if sticky.want != "b:2" || sticky.ch != nil {
		t.Fatalf("sticky of b:2: want %q ch %v; want waiting for b:2", sticky.want, sticky.ch)
	}
	for _, c := range []*consumer{east, sticky} {
		r.message()
		a.release(c.pid.Id)
		r.check(t, "released "+c.pid.Id)
	}

	w := floats[len(floats)-1]
	for _, c := range floats {
		if c.wq != nil {
			w = c
			break
		}
	}
	if w.wq == nil {
		t.Fatal("no float waits after b:2 went down")
	}
	w.want = "z:9" // behind the index's back
	if len(a.waitDiffs(nil)) == 0 {
		t.Fatal("a consumer changed without waitIndex.update went unnoticed")
	}
}
