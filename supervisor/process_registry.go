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
