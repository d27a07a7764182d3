package integration

import (
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// BenchmarkChannelAcquire compares, on one broker in one run, how long a
// consumer waits for a channel: from Warren's prechannel pool, from Warren
// opening one on demand, and raw amqp091-go opening (and closing) one.
func BenchmarkChannelAcquire(b *testing.B) {
	broker := StartBroker(b)
	for _, bc := range []struct {
		name        string
		prechannels int
	}{{"warren-prechannel-pool", 10}, {"warren-on-demand", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bare(oneZone(broker.URI())) // no pools taking prechannels
			cfg.Prechannels = bc.prechannels
			tree, _ := treetest.Start(b, cfg)
			waitReady(b, tree, 20*time.Second)
			if bc.prechannels > 0 {
				id := brokerID(b, broker)
				treetest.Eventually(b, tree, 10*time.Second, "pool full", func() bool { return len(tree.Registry().Prechannels(id)) == bc.prechannels })
			}
			got := make(chan *actors.ChannelAssigned, 1)
			pid := tree.System().Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
				if m, ok := c.Message().(*actors.ChannelAssigned); ok {
					got <- m
				}
			}))
			assignments := tree.PID(actors.AssignmentsName)
			id := brokerID(b, broker)
			acquire := func() {
				tree.System().Root.Send(assignments, &actors.RequestChannel{Consumer: pid, App: "bench"})
				<-got
				b.StopTimer()
				tree.System().Root.Send(assignments, &actors.ReleaseChannel{Consumer: pid})
				if bc.prechannels > 0 { // measure latency from a full pool, not the refill rate
					treetest.Eventually(b, tree, 10*time.Second, "pool refilled", func() bool {
						return len(tree.Registry().Prechannels(id)) == bc.prechannels
					})
				}
				b.StartTimer()
			}
			acquire() // warm up
			b.ResetTimer()
			for range b.N {
				acquire()
			}
			b.StopTimer()
			_ = tree.System().Root.StopFuture(pid).Wait()
		})
	}
	b.Run("raw-amqp091-open-close", func(b *testing.B) {
		conn, err := amqp.Dial(broker.URI())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		b.ResetTimer()
		for range b.N {
			ch, err := conn.Channel()
			if err != nil {
				b.Fatal(err)
			}
			_ = ch.Close()
		}
	})
	b.Run("raw-amqp091-open-only", func(b *testing.B) {
		conn, err := amqp.Dial(broker.URI())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		var chans []*amqp.Channel
		b.ResetTimer()
		for range b.N {
			ch, err := conn.Channel()
			if err != nil {
				b.Fatal(err)
			}
			chans = append(chans, ch)
			if len(chans) == 1000 { // stay under channel_max
				b.StopTimer()
				for _, c := range chans {
					_ = c.Close()
				}
				chans = chans[:0]
				b.StartTimer()
			}
		}
	})
}

// BenchmarkRecovery_PortReopenToConnected measures, per kill and restart of
// the broker, the time from its AMQP port accepting TCP again to Warren's
// connection being connected, with the default backoff (500ms first, 5s cap).
func BenchmarkRecovery_PortReopenToConnected(b *testing.B) {
	broker := StartBroker(b)
	tree, _ := treetest.Start(b, oneZone(broker.URI()))
	waitReady(b, tree, 20*time.Second)
	id := brokerID(b, broker)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		broker.Kill(b)
		waitConn(b, tree, id, 10*time.Second, "down", func(c registry.Connection) bool { return !c.Available })
		opened := make(chan time.Time, 1)
		go func() { // note the first moment the port accepts TCP
			for {
				c, err := net.DialTimeout("tcp", broker.Addr(), 50*time.Millisecond)
				if err == nil {
					c.Close()
					opened <- time.Now()
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		b.StartTimer()
		broker.Start(b)
		waitConn(b, tree, id, 20*time.Second, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
		total += time.Since(<-opened)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-port-open-to-connected")
}
