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
		consumers: map[string]*consumer{}, watches: map[string]chan<- *openedChannel{}, draining: map[string]bool{},
		count: map[string]int{}, growing: map[string]bool{},
		puts: map[string]registry.Assignment{}, dels: map[string]bool{}}
	b := &brokerInfo{id: "a:1", base: "a:1", zone: "local", role: registry.Consume, conn: sys.NewLocalPID("rig/conn"), maxConns: 1}
	a.brokers[b.id] = b
	sink := make(chan *openedChannel, closeWatchBuffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sink {
		}
	}()
	a.watches[b.id] = sink
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
