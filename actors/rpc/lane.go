package rpc

import (
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

// workerLane is the goroutine-safe face of one RPC worker: callers publish
// their requests on its channel from their own goroutine and wait on their
// pending entry; the worker's reply goroutine fills the entries.
//
// Owner:    state is stored by the worker actor only; pending is guarded by
// .         mu; counters are atomics.
type workerLane struct {
	name string

	state   atomic.Pointer[workerState]
	mu      sync.Mutex // guards pending, overflow, relays and changed
	pending map[string]chan reply
	// overflow holds, per call, the replies that came while its chan was
	// full (at most maxOverflow), for the caller to take after its next
	// receive: the reply reader never blocks on one caller, and a reply
	// is dropped (counted late) only when nobody waits for it.
	overflow map[string][]reply
	changed  chan struct{} // closed and replaced on every state change
	// relays holds, per call with a Request.Relay, where the deliveries
	// that answer no call go (Kazoo's relay_to).
	relays map[string]chan kazoo.Envelope

	// pub holds a token while a request is written on the channel: callers
	// take turns, and one waiting gives up when its ctx ends.
	pub chan struct{}

	calls, replies, timeouts, late, errors atomic.Uint64
	busy                                   atomic.Int64
	answers, answerNanos                   atomic.Uint64 // calls that got all they waited for, and their summed time
	flush                                  actors.CounterFlush
	touch                                  func() // schedules a row flush; set once by NewPool
	onChange                               func() // tells the pool a state changed; set once by NewPool
}

// workerState is what a lane publishes on; never changed once stored.
type workerState struct {
	status  registry.WorkerState
	ch      *amqp.Channel
	link    *actors.Link // the connection's socket: a publish past its caller's deadline closes it
	queue   string
	broker  string
	stopped bool
	id      string     // the channel's id (ChannelAssigned.ID)
	calls   *chanCalls // the calls in flight on ch; nil unless ready
	binds   *callBinds // the per-call bindings of queue on ch; nil unless ready
}

// chanCalls counts the calls in flight on one channel, so that a worker
// moving off it (a drained broker) gives it back once they all ended.
type chanCalls struct {
	mu      sync.Mutex
	n       int
	retired bool
	idle    chan struct{} // closed once retired with no call in flight
}

// enter counts a call starting on the channel; false once it is retired:
// the caller takes the worker's new state.
func (c *chanCalls) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retired {
		return false
	}
	c.n++
	return true
}

// leave counts a call that ended.
func (c *chanCalls) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.retired && c.n == 0 {
		close(c.idle)
	}
}

// retire takes no more calls and returns a channel closed once the calls in
// flight have ended.
func (c *chanCalls) retire() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.retired {
		c.retired, c.idle = true, make(chan struct{})
		if c.n == 0 {
			close(c.idle)
		}
	}
	return c.idle
}

func newWorkerLane(name string) *workerLane {
	l := &workerLane{name: name, pending: map[string]chan reply{}, changed: make(chan struct{}), pub: make(chan struct{}, 1), touch: func() {}, onChange: func() {}}
	l.state.Store(&workerState{status: registry.WorkerWaiting})
	return l
}

func (l *workerLane) set(st *workerState) {
	l.mu.Lock()
	l.state.Store(st)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	l.onChange()
}

// ready returns the lane's state if replies can reach it, else a channel
// closed at its next change.
func (l *workerLane) ready() (*workerState, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state.Load()
	if st.status == registry.WorkerReady && !st.ch.IsClosed() {
		return st, nil
	}
	return nil, l.changed
}

// reply is one reply for a call: parsed already when its key was in the
// body (Msg-ID), else its body, parsed by the caller (a direct reply-to
// reply is matched by correlation id: the reply reader, which serves
// every call of the worker, only routes it).
type reply struct {
	env      kazoo.Envelope
	body     []byte
	enc      string       // body's content encoding (gzip: decompressed when parsed)
	headers  amqp.Table   // the reply's AMQP headers (its traceparent)
	returned *amqp.Return // the broker returned the call's request
}

func (l *workerLane) register(key string, buffer int) chan reply {
	c := make(chan reply, buffer)
	l.mu.Lock()
	l.pending[key] = c
	l.mu.Unlock()
	l.busy.Add(1)
	l.calls.Add(1)
	l.touch()
	return c
}

// relayTo makes the deliveries that answer no call of the lane go to the
// returned chan too, until unregister(key).
func (l *workerLane) relayTo(key string) <-chan kazoo.Envelope {
	c := make(chan kazoo.Envelope, relayBuffer)
	l.mu.Lock()
	if l.relays == nil {
		l.relays = map[string]chan kazoo.Envelope{}
	}
	l.relays[key] = c
	l.mu.Unlock()
	return c
}

// relayBuffer bounds the deliveries a call's Relay has not taken yet.
const relayBuffer = 64

func (l *workerLane) unregister(key string) {
	l.mu.Lock()
	delete(l.pending, key)
	delete(l.overflow, key)
	delete(l.relays, key)
	l.mu.Unlock()
	l.busy.Add(-1)
	l.touch()
}

// deliver hands a reply to the call waiting for key, into its overflow
// when its chan is full; a reply nobody waits for (any more) goes to the
// relays of the calls that have one, and is otherwise late and dropped,
// as is one past maxOverflow (a peer flooding one call).
func (l *workerLane) deliver(key string, env reply) {
	l.mu.Lock()
	c := l.pending[key]
	delivered := false
	if c == nil && env.env != nil && len(l.relays) > 0 {
		relayed := l.relayLocked(env.env)
		l.mu.Unlock()
		if !relayed {
			l.late.Add(1)
		}
		l.touch()
		return
	}
	if c != nil {
		select {
		case c <- env:
			delivered = true
		default:
			if q := l.overflow[key]; len(q) < maxOverflow {
				if l.overflow == nil {
					l.overflow = map[string][]reply{}
				}
				l.overflow[key], delivered = append(q, env), true
			}
		}
	}
	l.mu.Unlock()
	if delivered {
		l.replies.Add(1)
	} else {
		l.late.Add(1)
	}
	l.touch()
}

// relayLocked hands env to every relay with room, each its own copy when
// there are several; it reports whether one took it. l.mu held on entry.
func (l *workerLane) relayLocked(env kazoo.Envelope) bool {
	relayed, copies := false, len(l.relays) > 1
	for _, c := range l.relays {
		e := env
		if copies {
			e = env.Clone()
		}
		select {
		case c <- e:
			relayed = true
		default:
		}
	}
	return relayed
}

// answered counts a call that got all it waited for, took after its
// request was registered.
func (l *workerLane) answered(took time.Duration) {
	l.answers.Add(1)
	l.answerNanos.Add(uint64(took))
}

// meanMs is the mean time of the answered calls, in milliseconds (0 before
// the first).
func (l *workerLane) meanMs() float64 {
	n := l.answers.Load()
	if n == 0 {
		return 0
	}
	return float64(l.answerNanos.Load()) / float64(n) / float64(time.Millisecond)
}

// maxOverflow bounds the replies one call holds beyond its chan.
const maxOverflow = 64

// overflowOf takes the replies that came for key while its chan was full.
// The caller takes them after each receive: a reply goes to the overflow
// only while the chan holds one, so none waits there unseen.
func (l *workerLane) overflowOf(key string) []reply {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.overflow[key]
	if q != nil {
		delete(l.overflow, key)
	}
	return q
}
