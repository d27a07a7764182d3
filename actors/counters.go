package actors

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

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
