package listener

import (
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// workers runs handlers off the listener's mailbox, at most n at once. In
// ordered mode each routing key always goes to the same worker, so its
// deliveries are handled one at a time in arrival order. In unordered mode
// a handler goroutine, once done, waits up to workerIdle for the next
// delivery: under a steady flow the same goroutines (and the stacks they
// grew decoding JSON) handle every delivery, and an idle listener holds
// none.
type workers struct {
	shared *listenerShared
	sem    chan struct{} // one token per running handler (listenerShared.slots)
	// handoff (unordered) passes a delivery to a goroutine waiting for
	// one; live counts the goroutines, waiting ones included.
	handoff chan job
	live    atomic.Int32

	mu      sync.Mutex // guards ordered
	ordered []chan job
	wg      sync.WaitGroup
}

// workerIdle is how long an unordered handler goroutine waits for another
// delivery before it ends.
const workerIdle = time.Second

type job struct {
	d   amqp.Delivery
	gen uint64
}

func newWorkers(s *listenerShared) *workers {
	w := &workers{shared: s}
	w.sem = s.slots // shared with the extra routes of a delivery (runTargets)
	if s.spec.OrderedByKey {
		w.ordered = make([]chan job, s.spec.Workers)
	} else {
		w.handoff = make(chan job)
	}
	return w
}

// dispatch hands d to a worker. It blocks while all workers are busy: the
// forwarding goroutine (not the actor) waits, and QoS bounds what piles up;
// meanwhile it acts on f's cancels.
func (w *workers) dispatch(d amqp.Delivery, gen uint64, f *forwarder) {
	done, drain := w.shared.ctx.Done(), w.shared.drainStarted
	if w.shared.spec.Ack == AckAuto {
		drain = nil // acked on arrival: it is handled, drain or not
	}
	if w.ordered == nil {
		// The common case first, each check a one-channel select (no lock
		// while the channel is empty and open): no drain, no retirement, a
		// free slot. waitSlot's blocking select locks its five channels.
		if isClosed(drain) || isClosed(f.retired) {
			w.shared.requeue(d, gen)
			return
		}
		if isClosed(done) {
			return
		}
		select {
		case w.sem <- struct{}{}:
		default:
			if !w.waitSlot(d, gen, f, drain, done) {
				return
			}
		}
		j := job{d: d, gen: gen}
		select {
		case w.handoff <- j: // a goroutine was waiting for one
		default:
			w.live.Add(1)
			w.wg.Add(1)
			go w.run(j)
		}
		return
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(d.RoutingKey))
	i := int(h.Sum32() % uint32(len(w.ordered)))
	w.mu.Lock()
	q := w.ordered[i]
	if q == nil {
		q = make(chan job, 64)
		w.ordered[i] = q
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				select {
				case j := <-q:
					w.runOrdered(j, done)
				case <-done:
					return
				}
			}
		}()
	}
	w.mu.Unlock()
	for {
		select {
		case q <- job{d: d, gen: gen}:
			return
		case tag, ok := <-f.cancels:
			f.cancel(tag, ok)
		case <-drain:
			w.shared.requeue(d, gen)
			return
		case <-f.retired:
			w.shared.requeue(d, gen)
			return
		case <-done:
			return
		}
	}
}

// waitSlot waits for a worker slot for d, acting on f's cancels
// meanwhile; false when d is not to be handled: requeued (a drain began,
// or a move retired its channel) or the listener stopped (the broker
// requeues it).
func (w *workers) waitSlot(d amqp.Delivery, gen uint64, f *forwarder, drain, done <-chan struct{}) bool {
	for {
		select {
		case w.sem <- struct{}{}:
			return true
		case tag, ok := <-f.cancels:
			f.cancel(tag, ok)
		case <-drain: // no handler starts once a drain began
			w.shared.requeue(d, gen)
			return false
		case <-f.retired: // nor on a channel a move retires
			w.shared.requeue(d, gen)
			return false
		case <-done: // the listener stopped: the broker requeues what is unacked
			return false
		}
	}
}

// isClosed reports whether c (nil: never) is closed, without waiting.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// runOrdered handles j in ordered mode once it holds a worker slot: the
// slots bound the extra routes of a delivery too (runTargets), so a key's
// worker may wait for one while those run.
func (w *workers) runOrdered(j job, done <-chan struct{}) {
	select {
	case w.sem <- struct{}{}:
	case <-done:
		return // the broker requeues it: unacked
	}
	held := true
	release := func() {
		if held {
			held = false
			<-w.sem
		}
	}
	w.shared.handle(j.d, j.gen, release)
	release()
}

// run handles j, then the deliveries handed off to it, until none came for
// workerIdle (between one and two: see idleCheck), the listener stopped,
// or more than twice as many goroutines as slots are alive: a slot is
// freed before its ack is written, so under a steady flow up to one
// goroutine per slot writes an ack while another runs that slot's next
// handler; both are kept for the next deliveries.
func (w *workers) run(j job) {
	defer func() { w.live.Add(-1); w.wg.Done() }()
	done := w.shared.ctx.Done()
	var ic *idleCheck
	defer func() {
		if ic != nil {
			ic.stop()
		}
	}()
	slot := &workerSlot{sem: w.sem}
	release := slot.release // one func value for every delivery, not one each
	for {
		slot.held = true
		w.shared.handle(j.d, j.gen, release)
		release() // handle returns without calling it when no handler took the delivery
		j = job{} // a waiting goroutine keeps no body alive
		if int(w.live.Load()) > 2*cap(w.sem) {
			return
		}
		if ic == nil {
			ic = newIdleCheck()
		} else {
			ic.handled.Add(1)
		}
		select {
		case j = <-w.handoff:
		case <-ic.idle:
			return
		case <-done:
			return
		}
	}
}

// workerSlot is the worker slot an unordered handler goroutine holds for
// the delivery it handles.
type workerSlot struct {
	sem  chan struct{}
	held bool
}

// release frees the slot once the handler returned; later calls do nothing.
func (s *workerSlot) release() {
	if s.held {
		s.held = false
		<-s.sem
	}
}

// idleCheck closes idle once a handler goroutine took no delivery for a
// whole workerIdle: a timer that fires every workerIdle and compares the
// deliveries handled with its last look. Resetting a timer for every
// delivery, and selecting on its channel, cost the delivery path a timer
// heap update each (issue 25's consume profile); the price is that an
// idle goroutine ends between one and two workerIdle after its last
// delivery.
type idleCheck struct {
	handled atomic.Uint64 // counted by the goroutine after each delivery
	last    atomic.Uint64 // handled at the last check
	idle    chan struct{}
	timer   atomic.Pointer[time.Timer]
	stopped atomic.Bool
}

func newIdleCheck() *idleCheck {
	c := &idleCheck{idle: make(chan struct{})}
	c.arm()
	return c
}

func (c *idleCheck) arm() { c.timer.Store(time.AfterFunc(workerIdle, c.check)) }

// check runs every workerIdle, one at a time (each arms the next).
func (c *idleCheck) check() {
	if c.stopped.Load() {
		return
	}
	if n := c.handled.Load(); n != c.last.Load() {
		c.last.Store(n)
		c.arm()
		return
	}
	close(c.idle)
}

// stop ends the checks; the goroutine is ending.
func (c *idleCheck) stop() {
	c.stopped.Store(true)
	if t := c.timer.Load(); t != nil {
		t.Stop()
	}
}
