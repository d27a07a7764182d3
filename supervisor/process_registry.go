package supervisor

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// processRegistryBuckets is how many maps the tree's actor system spreads
// its process registry over. protoactor makes 1,024, each of 32 locked
// shards: 2.7 MiB and 66,000 objects live before the first actor, which
// the garbage collector marks on every cycle (so every allocation of a
// publishing or consuming goroutine pays for them). Every bucket is itself
// sharded 32 ways, so 16 buckets still spread a tree of thousands of actors
// over 512 locks.
const processRegistryBuckets = 16

// Kept on review (issue 20): measured again with protoactor-go
// v0.0.0-20240822202345 and go1.26, a new actor system holds 2,808 KiB and
// 66,578 objects live with protoactor's registry, 78 KiB and 1,131 objects
// with this one. The newest protoactor-go source we could read still
// makes 1,024 buckets and offers no option for it. The swap uses only
// exported API (ActorSystem.ProcessRegistry.LocalPIDs, actor.SliceMap,
// whose GetBucket hashes over len(LocalPIDs), so a shorter slice is
// honoured), so a protoactor upgrade that changes it fails to compile
// rather than misbehave, and process_registry_test.go checks what it must
// keep: the processes registered at birth, spawn, lookup, removal.
// Dropping it is one line in Start when protoactor grows the option.

// shrinkProcessRegistry replaces sys's process registry by one of
// processRegistryBuckets buckets holding the same processes. Call it on a
// new system, before anything is spawned: the swap is not synchronised with
// lookups.
func shrinkProcessRegistry(sys *actor.ActorSystem) {
	old := sys.ProcessRegistry.LocalPIDs
	next := &actor.SliceMap{LocalPIDs: make([]cmap.ConcurrentMap, processRegistryBuckets)}
	for i := range next.LocalPIDs {
		next.LocalPIDs[i] = cmap.New()
	}
	for _, bucket := range old.LocalPIDs {
		if bucket.Count() == 0 { // most: Items would copy their 32 empty shards
			continue
		}
		for id, proc := range bucket.Items() {
			next.GetBucket(id).Set(id, proc)
		}
	}
	sys.ProcessRegistry.LocalPIDs = next
}
