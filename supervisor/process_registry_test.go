package supervisor

import (
	"log/slog"
	"runtime"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// The shrunk registry keeps the processes the system registered at birth
// (dead letters among them: a message to a stopped actor still reaches
// them) and resolves actors spawned after, and a new system costs a tenth
// of the live heap.
func TestShrinkProcessRegistry_KeepsProcessesAndFreesTheHeap(t *testing.T) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return DiscardLogger() }))
	before := 0
	for _, b := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		before += b.Count()
	}
	shrinkProcessRegistry(sys)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	after := 0
	for _, b := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		after += b.Count()
	}
	if len(sys.ProcessRegistry.LocalPIDs.LocalPIDs) != processRegistryBuckets || after != before {
		t.Fatalf("%d buckets holding %d processes, had %d", len(sys.ProcessRegistry.LocalPIDs.LocalPIDs), after, before)
	}
	if live := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); live > 512<<10 {
		t.Errorf("a new system holds %d KiB live, want under 512", live>>10)
	}
	got := make(chan any, 1)
	pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			got <- s
		}
	}), "echo")
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Send(pid, "hello")
	if m := <-got; m != "hello" {
		t.Fatalf("got %v", m)
	}
	if _, ok := sys.ProcessRegistry.GetLocal(pid.Id); !ok {
		t.Fatal("spawned actor not in the registry")
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, ok := sys.ProcessRegistry.GetLocal(pid.Id); ok {
		t.Fatal("stopped actor still in the registry")
	}
	sys.Shutdown()
}
