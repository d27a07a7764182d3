package integration

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// TestScale_TwentyThousandListeners: 20,000 listeners on one broker (a
// node at RabbitMQ's default channel_max, 2,047) all consume, over the
// connections the tree opens for them as each one's channels run out (at
// least ten); the broker lists 20,000 consumers and as many connections as
// the tree has rows. It logs the time to all consuming and the client
// memory per listener (heap after GC, goroutines). `make scale` runs it,
// without -race, outside `make integration`.
func TestScale_TwentyThousandListeners(t *testing.T) {
	const n = 20000
	b := StartBroker(t)
	tree, _ := treetest.Start(t, bare(oneZone(b.URI())))
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	handler := func(context.Context, *listener.Delivery) error { return nil }
	start := time.Now()
	pids := make([]*actor.PID, 0, n)
	for i := range n {
		name := fmt.Sprintf("scale-%05d", i)
		pid, err := tree.SpawnListener(within(t, 10*time.Second), listener.Spec{Name: name,
			Queue: listener.QueueSpec{Name: name, AutoDelete: true}, Handlers: []listener.Route{{Handler: handler}}})
		if err != nil {
			t.Fatalf("spawn %s: %v", name, err)
		}
		pids = append(pids, pid)
	}
	spawned := time.Since(start)
	ctx := within(t, 10*time.Minute)
	for i, pid := range pids {
		if err := tree.WaitConsuming(ctx, pid); err != nil {
			t.Fatalf("listener %d of %d not consuming: %v (degraded: %q)", i, n, err, tree.Degraded())
		}
	}
	took := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heapPer := float64(after.HeapAlloc-before.HeapAlloc) / n
	goPer := float64(runtime.NumGoroutine()-g0) / n

	if d := tree.Degraded(); d != "" {
		t.Errorf("degraded with every listener consuming: %q", d)
	}
	conns, channelMax := 0, 0
	for _, c := range tree.Registry().Connections() {
		if c.Broker == id && c.Role == registry.Consume {
			conns++
			channelMax = c.ChannelMax
		}
	}
	if conns < 10 {
		t.Errorf("%d consuming connections for %d listeners at channel_max %d, want at least 10", conns, n, channelMax)
	}
	if got := ctlCount(t, b, "scale-", "list_consumers", "queue_name"); got != n {
		t.Errorf("the broker lists %d consumers, want %d", got, n)
	}
	if got := ctlCount(t, b, "running", "list_connections", "state"); got < conns {
		t.Errorf("the broker lists %d running connections, the tree %d consuming ones", got, conns)
	}
	t.Logf("%d listeners on one broker (channel_max %d): spawned in %v, all consuming after %v over %d connections; %.0f B heap and %.2f goroutines per listener",
		n, channelMax, spawned.Round(time.Millisecond), took.Round(time.Millisecond), conns, heapPer, goPer)
}
