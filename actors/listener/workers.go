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
	wait:
		for {
			select {
			case w.sem <- struct{}{}:
				break wait
			case tag, ok := <-f.cancels:
				f.cancel(tag, ok)
			case <-drain: // no handler starts once a drain began
				w.shared.requeue(d, gen)
				return
			case <-f.retired: // nor on a channel a move retires
				w.shared.requeue(d, gen)
				return
			case <-done: // the listener stopped: the broker requeues what is unacked
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
// workerIdle, the listener stopped, or more than twice as many goroutines
// as slots are alive: a slot is freed before its ack is written, so under
// a steady flow up to one goroutine per slot writes an ack while another
// runs that slot's next handler; both are kept for the next deliveries.
func (w *workers) run(j job) {
	defer func() { w.live.Add(-1); w.wg.Done() }()
	done := w.shared.ctx.Done()
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		held := true
		release := func() { // the slot is free once the handler returned
			if held {
				held = false
				<-w.sem
			}
		}
		w.shared.handle(j.d, j.gen, release)
		release() // handle returns without calling it when no handler took the delivery
		j = job{} // a waiting goroutine keeps no body alive
		if int(w.live.Load()) > 2*cap(w.sem) {
			return
		}
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case j = <-w.handoff:
		case <-idle.C:
			return
		case <-done:
			return
		}
	}
}
