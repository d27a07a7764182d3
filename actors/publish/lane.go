package publish

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// publishReturnsBuffer is the capacity of each publisher channel's
// NotifyReturn chan. amqp091's reader waits up to 5s for room in it (and
// reads nothing else on the connection meanwhile); the chan is drained by
// confirmed mandatory publishes, by every mandatory publish that finds it
// non-empty, and by the publisher actor every publisherFlushEvery. Only
// mandatory publishes are returned, and each drains it after its write, so
// it fills only when more than this many returns arrive after the last
// mandatory publish; the actor's drain then frees the reader within
// publisherFlushEvery. It is not larger because the garbage collector
// scans a chan's buffer on every cycle: amqp.Return is 270 bytes of mostly
// pointers, and each publisher has two of these chans.
const publishReturnsBuffer = 256

// laneChannel is one channel of a lane with the notifications Warren
// registered on it, kept for the channel's life (across blocked and
// unblocked, and restarts of the publisher actor).
type laneChannel struct {
	id      string // the channel's id (broker#number), named by a confirm wait that runs out
	ch      *amqp.Channel
	link    *actors.Link       // the connection's socket: a write past its caller's deadline closes it
	guard   *actors.WriteGuard // link's guard of the writes on ch, which the writer token serialises
	returns chan amqp.Return   // NotifyReturn, drained under the lane's retMu
	closes  chan *amqp.Error   // NotifyClose, cap 1: read once, by closeReason

	// writer is 1 while a publish is written on ch: it tells busy channels
	// from free ones (a compare-and-swap, no chan operation on the way of
	// every publish); callers that wait for it count themselves in waiting
	// and are woken through wake, and one gives up when its ctx ends.
	writer  atomic.Int32
	waiting atomic.Int32
	wake    chan struct{}   // cap 1: a token after an unlock that found waiters
	stop    <-chan struct{} // the pool's: closed by Pool.Stop, it ends a wait for the token

	errMu sync.Mutex  // guards err and the receive from closes
	err   *amqp.Error // why ch closed, once known

	// nacks counts the broker's nacks in a row on ch (an ack resets it);
	// at nackRecycle the channel is closed and replaced (recycled).
	nacks    atomic.Int32
	recycled atomic.Bool

	// outstanding counts the confirmed publishes written on ch whose
	// confirm wait has not ended; drained, once set by whenDrained, is
	// closed (and cleared) when it drops to zero: a publisher moving off ch
	// keeps it until then.
	outstanding atomic.Int64
	drained     atomic.Pointer[chan struct{}]

	// plainWrites counts the fire-and-forget publishes written on ch: told
	// when the broker closes it with an error, which discards those
	// written after the cause.
	plainWrites atomic.Uint64
}

// confirmEnded counts the end of a confirm wait of a publish written on c.
func (c *laneChannel) confirmEnded() {
	if c.outstanding.Add(-1) == 0 && c.drained.Load() != nil {
		c.signalDrained()
	}
}

func (c *laneChannel) signalDrained() {
	if ch := c.drained.Swap(nil); ch != nil {
		close(*ch)
	}
}

// whenDrained returns a chan closed once no confirm is outstanding on c.
// Called once per channel, by its publisher moving off it.
func (c *laneChannel) whenDrained() <-chan struct{} {
	ch := make(chan struct{})
	c.drained.Store(&ch)
	if c.outstanding.Load() == 0 { // after the store: a confirmEnded from now on sees it
		c.signalDrained()
	}
	return ch
}

// nackRecycle is how many nacks in a row make a publisher give its channel
// up for a new one. RabbitMQ nacks only on an internal error of the queue
// process, and a channel can stay stuck in one: with RabbitMQ 3.10, a
// channel that published to a quorum queue whose leader's node was killed
// had every later publish nacked (minutes, while a new channel's were
// acked at once).
const nackRecycle = 20

// nacked counts a nack on c and reports whether c should now be recycled
// (once).
func (c *laneChannel) nacked() bool {
	return c.nacks.Add(1) >= nackRecycle && c.recycled.CompareAndSwap(false, true)
}

// recycle closes c (in a goroutine, bounded by its socket's guard): its
// publisher gets the channel back from the assignments actor as lost and
// receives a new one.
func (c *laneChannel) recycle() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.link.Guard(ctx, c.ch.Close)
	}()
}

// tryLock takes the channel for writing if no one writes on it.
func (c *laneChannel) tryLock() bool { return c.writer.CompareAndSwap(0, 1) }

// lock takes the channel for writing, or gives up when ctx ends or the
// pool stops.
//
// Why not golang.org/x/sync/semaphore (Weighted(1), TryAcquire, Acquire(ctx))?
// Measured for issue 20 on 2 cores, 64 goroutines taking the token around
// a short write: 100-130 ns and no allocation per lock here, 600-660 ns and
// 2 allocations with Acquire(ctx) (its FIFO hand-off parks and wakes a
// goroutine per unlock, each waiter allocates its chan and list element),
// 1.0-1.6 µs and 3 allocations once the pool's stop is merged into the ctx
// (WithCancel and AfterFunc); TryAcquire alone costs 27-33 ns against
// 13-26 ns. Through the whole publish path (BenchmarkPublish/confirmed-64)
// that was one more allocation and 5.6 % more bytes per publish, past the
// 3 % the issue allowed. The barging CAS below lets a running goroutine
// take a just-freed token without a hand-off.
// A waiter counts itself before its last try: an unlock after that try
// sees it and leaves a token in wake (a token left by a waiter that gave
// up only makes the next one try once more).
func (c *laneChannel) lock(ctx context.Context) error {
	for {
		if c.tryLock() {
			return nil
		}
		c.waiting.Add(1)
		if c.tryLock() {
			c.waiting.Add(-1)
			return nil
		}
		select {
		case <-c.wake:
			c.waiting.Add(-1)
		case <-ctx.Done():
			c.waiting.Add(-1)
			return ctx.Err()
		case <-c.stop:
			c.waiting.Add(-1)
			return ErrStopped
		}
	}
}

func (c *laneChannel) unlock() {
	c.writer.Store(0)
	if c.waiting.Load() > 0 {
		select {
		case c.wake <- struct{}{}:
		default: // a token is there already
		}
	}
}

// closeReason returns why the channel closed (a 404 of a publish to a
// missing exchange, say), or nil when it has not or closed gracefully.
// amqp091 sends it before it nacks the channel's pending confirms.
func (c *laneChannel) closeReason() *amqp.Error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		select {
		case e := <-c.closes:
			c.err = e
		default:
		}
	}
	return c.err
}

// laneState is what a lane publishes on: set by the publisher actor, read
// by publishing goroutines. A value is never changed once stored.
type laneState struct {
	status  registry.PublisherState
	c       *laneChannel // nil unless ready or blocked
	broker  string
	blocked bool // status is PublisherBlocked
}

// usable reports whether a publish may be written on st now.
func (st *laneState) usable() bool {
	return st.status == registry.PublisherReady && !st.c.ch.IsClosed()
}

var laneWaiting = &laneState{status: registry.PublisherWaiting}

// publisherLane is the goroutine-safe face of one publisher actor: callers
// of Publish write on its channels directly from their own goroutine, so no
// message goes through a mailbox. A lane has two channels: one in confirm
// mode for confirmed publishes, and a plain one for fire-and-forget
// publishes, which confirm mode would slow down (the broker acks every
// message, the client tracks every one). Each channel's laneState carries
// the laneChannel whose mutex a publish holds while it writes.
//
// Owner:    the states are stored by the lane's publisher actor only (one
// .         instance at a time); counters are atomics any publishing
// .         goroutine adds to; retWait and retGot are guarded by retMu.
type publisherLane struct {
	set   *Pool
	slots [publisherSlots]atomic.Pointer[laneState] // by slotConfirm, slotPlain

	published, confirmed, nacked, returned, unconfirmed, dropped atomic.Uint64
	resent                                                       atomic.Uint64 // confirmed publishes written again on this lane
	plainClosed                                                  atomic.Uint64 // plain channels the broker closed with an error
	buffered                                                     atomic.Int64
	awaiting                                                     atomic.Int64  // confirm waits in progress
	confirmNanos                                                 atomic.Uint64 // summed write-to-ack time of the acked ones

	retMu   sync.Mutex             // guards retWait, retGot and every receive from a returns chan
	retWait map[string]int         // message id -> confirmed mandatory publishes awaiting their outcome
	retGot  map[string]amqp.Return // returns of awaited ids, until their publish looks

	// Touched by the publisher actor only (survives its restarts): per slot,
	// the channel whose notifications are registered, so that a restarted
	// actor given the same channel does not register a second, undrained
	// return chan.
	reg [publisherSlots]*laneChannel
}

// A lane's two channels.
const (
	slotConfirm = iota
	slotPlain
	publisherSlots
)

func newPublisherLane(set *Pool) *publisherLane {
	l := &publisherLane{set: set, retWait: map[string]int{}, retGot: map[string]amqp.Return{}}
	for i := range l.slots {
		l.slots[i].Store(laneWaiting)
	}
	return l
}

// store publishes a new state of slot to the callers and wakes those
// waiting, if it changed.
func (l *publisherLane) store(slot int, st *laneState) {
	if l.slots[slot].Swap(st) != st {
		l.set.notify()
	}
}

// channelOf returns slot's laneChannel of ch, registering its
// notifications the first time. Called by the publisher actor; Notify*
// are no network calls.
func (l *publisherLane) channelOf(slot int, id string, ch *amqp.Channel, link *actors.Link) *laneChannel {
	if c := l.reg[slot]; c != nil && c.ch == ch {
		return c
	}
	l.release(slot)
	c := &laneChannel{id: id, ch: ch, link: link, guard: link.NewWriteGuard(), wake: make(chan struct{}, 1), stop: l.set.stop,
		returns: ch.NotifyReturn(make(chan amqp.Return, publishReturnsBuffer)),
		closes:  ch.NotifyClose(make(chan *amqp.Error, 1)),
	}
	l.reg[slot] = c
	return c
}

// release ends the ctx watch of slot's registered channel, given up (lost,
// replaced, or its publisher stopping). Called by the publisher actor.
func (l *publisherLane) release(slot int) {
	if c := l.reg[slot]; c != nil {
		c.guard.Release()
	}
}

// pick returns the slot state a publish uses on this lane, or nil: the
// plain channel for fire-and-forget (the confirm channel when the plain one
// is not usable), the confirm channel for confirmed publishes.
func (l *publisherLane) pick(confirm bool) *laneState {
	if !confirm {
		if st := l.slots[slotPlain].Load(); st.usable() {
			return st
		}
	}
	if st := l.slots[slotConfirm].Load(); st.usable() {
		return st
	}
	return nil
}

// offers reports whether st is still what one of the lane's slots offers.
func (l *publisherLane) offers(st *laneState) bool {
	return l.slots[slotConfirm].Load() == st || l.slots[slotPlain].Load() == st
}

// expect registers a confirmed mandatory publish of id before it is written.
func (l *publisherLane) expect(id string) {
	l.retMu.Lock()
	l.retWait[id]++
	l.retMu.Unlock()
}

// settle ends the wait of a publish registered with expect and reports
// whether the broker returned it. amqp091's reader delivers a return before
// it processes the ack of the same message, so after the ack the return is
// in returns or already in retGot.
func (l *publisherLane) settle(returns chan amqp.Return, id string) (amqp.Return, bool) {
	l.retMu.Lock()
	defer l.retMu.Unlock()
	l.drainLocked(returns)
	ret, ok := l.retGot[id]
	if l.retWait[id]--; l.retWait[id] <= 0 {
		delete(l.retWait, id)
		delete(l.retGot, id)
	}
	return ret, ok
}

// drain empties returns without blocking.
func (l *publisherLane) drain(returns chan amqp.Return) {
	if returns == nil || len(returns) == 0 {
		return
	}
	l.retMu.Lock()
	l.drainLocked(returns)
	l.retMu.Unlock()
}

// drainLocked moves the returns waited for into retGot and counts all of
// them. l.retMu held on entry.
func (l *publisherLane) drainLocked(returns chan amqp.Return) {
	for {
		select {
		case r, ok := <-returns:
			if !ok {
				return
			}
			l.returned.Add(1)
			if l.retWait[r.MessageId] > 0 {
				l.retGot[r.MessageId] = r
			}
		default:
			return
		}
	}
}

// counters copies the lane's counters into row.
func (l *publisherLane) counters(row *registry.Publisher) {
	row.Published = l.published.Load()
	row.Confirmed = l.confirmed.Load()
	row.Nacked = l.nacked.Load()
	row.Returned = l.returned.Load()
	row.Unconfirmed = l.unconfirmed.Load()
	row.Resent = l.resent.Load()
	row.PlainClosed = l.plainClosed.Load()
	row.Dropped = l.dropped.Load()
	row.Buffered = l.buffered.Load()
	row.InFlight = l.awaiting.Load()
	row.ConfirmMeanMs = 0
	if row.Confirmed > 0 {
		row.ConfirmMeanMs = float64(l.confirmNanos.Load()) / float64(row.Confirmed) / float64(time.Millisecond)
	}
}
