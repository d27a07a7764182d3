package listener

import (
	"slices"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
)

// acker writes the settlements (ack, nack, reject) of one channel's
// deliveries. Acks are group-committed: an ack that comes while another
// batch is being written joins the next batch, and that batch goes out as
// one basic.ack with multiple set where it can, so that handlers finishing
// together cost the socket one write instead of one each (every ack is a
// write and a syscall of its own otherwise: the largest part of a
// listener's CPU per delivery).
//
// A multiple ack settles, at the broker, every outstanding tag up to its
// own, so it must cover only tags Warren means to ack: it is written for a
// run of tags floor+1 … n, each one in the batch or settled on the wire
// already, where every tag up to floor is settled on the wire. A tag
// still being handled, being nacked or rejected, or never seen (a delivery
// not yet read) breaks the run; the batch's tags above the run are acked
// one by one. The acker only learns of tags as they are settled, so it
// needs no word from the forwarder, and a settlement it never learns of
// stops its combining, never its correctness: past maxAckTracked tags
// settled above a floor that does not move, it gives up (off) and acks
// every tag on its own, as a channel did before.
type acker struct {
	ch   *amqp.Channel
	link *actors.Link

	mu    sync.Mutex
	open  *ackBatch           // the batch new acks join; nil: the next ack leads one
	floor uint64              // every tag up to floor is settled on the wire
	above map[uint64]struct{} // tags above floor settled on the wire
	off   bool                // too many tags above floor: no more combining
	wmu   sync.Mutex          // one batch written at a time

	writes   atomic.Uint64 // basic.ack frames written
	combined atomic.Uint64 // acks that went out in another ack's frame
}

// maxAckTracked bounds the tags the acker keeps above a floor that does
// not move (a handler that runs for very long, or a settlement it did not
// see): past it, it acks tag by tag.
const maxAckTracked = 4096

// ackBatch is one group commit of acks.
type ackBatch struct {
	tags []uint64
	done chan struct{} // made when a second ack joins; closed once written
	err  error         // the write's, read after done
}

func newAcker(ch *amqp.Channel, link *actors.Link) *acker {
	return &acker{ch: ch, link: link, above: make(map[uint64]struct{})}
}

// ack acks tag and returns once a write that covers it went out (or
// failed: the channel closed, and the broker requeues the message).
func (a *acker) ack(tag uint64) error {
	a.mu.Lock()
	if a.off {
		a.mu.Unlock()
		a.writes.Add(1)
		return a.link.Watch(func() error { return a.ch.Ack(tag, false) })
	}
	b := a.open
	if b != nil { // a batch waits for the writer: join it
		if b.done == nil {
			b.done = make(chan struct{})
		}
		b.tags = append(b.tags, tag)
		a.mu.Unlock()
		<-b.done
		return b.err
	}
	b = &ackBatch{tags: []uint64{tag}}
	a.open = b
	a.mu.Unlock()

	a.wmu.Lock() // the batch before this one is written meanwhile; acks join this one
	a.mu.Lock()
	a.open = nil
	plan := a.plan(b.tags)
	a.mu.Unlock()
	b.err = a.write(plan)
	a.mu.Lock()
	if b.err == nil {
		for _, t := range b.tags {
			a.settledLocked(t)
		}
	}
	a.mu.Unlock()
	a.wmu.Unlock()
	if b.done != nil {
		close(b.done)
	}
	return b.err
}

// other writes a nack or a reject of tag (settle) and records the tag
// settled once it went out.
func (a *acker) other(tag uint64, settle func() error) error {
	if err := a.link.Watch(settle); err != nil {
		return err
	}
	a.mu.Lock()
	a.settledLocked(tag)
	a.mu.Unlock()
	return nil
}

// ackPlan is how a batch goes out: one ack of upTo with multiple set
// (when it covers more than one of the batch's tags; upTo 0: none), then
// each of singles on its own.
type ackPlan struct {
	upTo     uint64
	multiple bool
	covered  int // the batch's tags the multiple ack covers
	singles  []uint64
}

// plan decides how the batch tags go out; a.mu held.
func (a *acker) plan(tags []uint64) ackPlan {
	if len(tags) == 1 || a.off {
		return ackPlan{singles: tags}
	}
	slices.Sort(tags)
	return planAcks(a.floor, a.above, tags)
}

// planAcks is plan's rule: sorted holds the batch's tags, ascending;
// every tag up to floor and those in above are settled on the wire.
func planAcks(floor uint64, above map[uint64]struct{}, sorted []uint64) ackPlan {
	next, i := floor+1, 0
	var run int
	for {
		if i < len(sorted) && sorted[i] == next {
			i, run = i+1, run+1
		} else if _, ok := above[next]; !ok || i == len(sorted) {
			break
		}
		next++
	}
	if run < 2 {
		return ackPlan{singles: sorted}
	}
	return ackPlan{upTo: sorted[i-1], multiple: true, covered: run, singles: sorted[i:]}
}

// write writes plan's frames, in order; the first error ends it.
func (a *acker) write(p ackPlan) error {
	if p.upTo != 0 {
		a.writes.Add(1)
		if err := a.link.Watch(func() error { return a.ch.Ack(p.upTo, p.multiple) }); err != nil {
			return err
		}
	}
	for _, t := range p.singles {
		a.writes.Add(1)
		if err := a.link.Watch(func() error { return a.ch.Ack(t, false) }); err != nil {
			return err
		}
	}
	if p.multiple {
		a.combined.Add(uint64(p.covered - 1))
	}
	return nil
}

// settledLocked records tag settled on the wire and moves the floor up;
// a.mu held.
func (a *acker) settledLocked(tag uint64) {
	if a.off || tag <= a.floor {
		return
	}
	if tag != a.floor+1 {
		a.above[tag] = struct{}{}
		if len(a.above) > maxAckTracked {
			a.off, a.above = true, nil
		}
		return
	}
	a.floor = tag
	for {
		if _, ok := a.above[a.floor+1]; !ok {
			return
		}
		delete(a.above, a.floor+1)
		a.floor++
	}
}
