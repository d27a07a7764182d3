package listener

import (
	"hash/fnv"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// workers runs handlers off the listener's mailbox, at most n at once. In
// ordered mode each routing key always goes to the same worker, so its
// deliveries are handled one at a time in arrival order. Idle listeners hold
// no worker goroutine in unordered mode.
type workers struct {
	shared *listenerShared
	sem    chan struct{} // unordered: one token per running handler

	mu      sync.Mutex // guards ordered
	ordered []chan job
	wg      sync.WaitGroup
}

type job struct {
	d   amqp.Delivery
	gen uint64
}

func newWorkers(s *listenerShared) *workers {
	w := &workers{shared: s}
	if s.spec.OrderedByKey {
		w.ordered = make([]chan job, s.spec.Workers)
	} else {
		w.sem = make(chan struct{}, s.spec.Workers)
	}
	return w
}

// dispatch hands d to a worker. It blocks while all workers are busy: the
// forwarding goroutine (not the actor) waits, and QoS bounds what piles up;
// meanwhile it acts on f's cancels.
func (w *workers) dispatch(d amqp.Delivery, gen uint64, f *forwarder) {
	done := w.shared.ctx.Done()
	if w.sem != nil {
	wait:
		for {
			select {
			case w.sem <- struct{}{}:
				break wait
			case tag, ok := <-f.cancels:
				f.cancel(tag, ok)
			case <-done: // the listener stopped: the broker requeues what is unacked
				return
			}
		}
		w.wg.Add(1)
		go func() {
			released := false
			release := func() { // the slot is free once the handler returned
				if !released {
					released = true
					<-w.sem
				}
			}
			defer func() { release(); w.wg.Done() }()
			w.shared.handle(d, gen, release)
		}()
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
					w.shared.handle(j.d, j.gen, nil)
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
		case <-done:
			return
		}
	}
}
