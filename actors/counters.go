package actors

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// generation numbers the work every actor starts in a goroutine (a dial, a
// replay, a channel's setup) across the whole process.
var generation atomic.Uint64

// NextGeneration returns a number no other call in the process returns. An
// actor tags each goroutine's work with one and drops (closing what it
// holds) a result tagged with another number than its current one: such a
// result is stale even when it reaches a restarted or respawned actor at
// the same PID, whose own fields started again from zero.
func NextGeneration() uint64 { return generation.Add(1) }

// FlushEvery bounds how long a busy actor's counters (listeners, RPC
// workers, publishers) take to reach its table row.
const FlushEvery = 250 * time.Millisecond

// FlushCounters asks an actor to write its counters to its row. A
// [CounterFlush] sends it.
type FlushCounters struct{}

// CounterFlush coalesces counter changes made on many goroutines into at
// most one [FlushCounters] per [FlushEvery] to the actor that owns the row.
// The zero value is ready to use.
type CounterFlush struct{ dirty atomic.Bool }

// Touch schedules a FlushCounters to pid unless one is already on its way.
func (f *CounterFlush) Touch(env *Env, pid *actor.PID) {
	if f.dirty.CompareAndSwap(false, true) {
		time.AfterFunc(FlushEvery, func() { env.Send(pid, &FlushCounters{}) })
	}
}

// Flushed marks the counters written; the actor calls it when it handles
// FlushCounters, before reading them.
func (f *CounterFlush) Flushed() { f.dirty.Store(false) }
