package supervisor_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/supervisor"
)

func TestZZIdleHeap(t *testing.T) {
	nb, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}}
	tree, err := supervisor.Start(cfg, supervisor.WithLogger(supervisor.DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := tree.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	spawn := func(i int) {
		name := fmt.Sprintf("idle-%d", i)
		pid, err := tree.SpawnListener(ctx, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name, AutoDelete: true},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.WaitConsuming(ctx, pid); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		spawn(i)
	}
	runtime.GC()
	runtime.GC()
	f0, _ := os.Create("/tmp/heap0.out")
	pprof.WriteHeapProfile(f0)
	f0.Close()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const n = 500
	for i := 50; i < 50+n; i++ {
		spawn(i)
	}
	runtime.GC()
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	f1, _ := os.Create("/tmp/heap1.out")
	pprof.WriteHeapProfile(f1)
	f1.Close()
	t.Logf("per listener: %.2f KiB heap", float64(m1.HeapAlloc-m0.HeapAlloc)/1024/n)
}
