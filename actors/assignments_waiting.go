package actors

import (
	"container/heap"
	"fmt"
	"slices"

	"github.com/warrenmq/warren/registry"
)

// The assignments actor's index of its waiting consumers: those without a
// channel, or moving off a draining broker, and not paused (consumerSlot's
// waiting). Every channel a broker opens goes to the oldest waiter that
// wants it (nextWaiter) and every placement counts the waiters of a
// broker (channelsToAsk): over a list of every consumer that was
// O(consumers) per channel, so 20,000 listeners took minutes to consume.
// The index answers both from the head of a queue, whatever the number of
// consumers.
//
// Each waiting consumer sits in one queue, oldest (Seq) first, named by
// what makes it want a channel (waitKey): the connection it waits for,
// or for a roaming consumer waiting on its zone, its zone, role and tag —
// the queues whose every member fits a given broker (fits). A consumer's
// queue follows its fields: whoever changes ch, moving, timer or want
// calls waitIndex.update (release calls remove).

// waitKey names the queue of a waiting consumer.
type waitKey struct {
	want  string            // the connection it waits for; the others are zero then
	zone  string            // a roaming consumer waiting on its zone:
	role  registry.ConnRole // its zone, role and tag ("" for none)
	tag   string
	roams bool // false with want "": a sticky waiting for none of its connections to come up
}

// waitingNow reports whether c waits for a channel (consumerSlot.waiting).
func (c *consumer) waitingNow() bool { return (c.ch == nil || c.moving) && c.timer == nil }

// waitKey returns the queue c belongs in while it waits.
func (c *consumer) waitKey() waitKey {
	if c.want != "" {
		return waitKey{want: c.want}
	}
	if !(consumerSlot{Type: c.typ, Sticky: c.sticky, Tag: c.tag}).roams() {
		return waitKey{}
	}
	return waitKey{zone: c.zone, role: c.role, tag: c.tag, roams: true}
}

// waitQueue is a min-heap of consumers by seq (container/heap); each
// member knows its queue and index (consumer.wq, wi).
type waitQueue struct {
	key waitKey
	cs  []*consumer
}

func (q *waitQueue) Len() int           { return len(q.cs) }
func (q *waitQueue) Less(i, j int) bool { return q.cs[i].seq < q.cs[j].seq }
func (q *waitQueue) Swap(i, j int) {
	q.cs[i], q.cs[j] = q.cs[j], q.cs[i]
	q.cs[i].wi, q.cs[j].wi = i, j
}
func (q *waitQueue) Push(x any) {
	c := x.(*consumer)
	c.wi = len(q.cs)
	q.cs = append(q.cs, c)
}
func (q *waitQueue) Pop() any {
	n := len(q.cs) - 1
	c := q.cs[n]
	q.cs[n] = nil
	q.cs = q.cs[:n]
	return c
}

// waitIndex holds the queues; its zero value is empty and ready.
type waitIndex struct {
	queues map[waitKey]*waitQueue
}

// update puts c in the queue its fields name, or in none when it does not
// wait: call it after changing c's ch, moving, timer or want.
func (w *waitIndex) update(c *consumer) {
	waiting := c.waitingNow()
	var key waitKey
	if waiting {
		key = c.waitKey()
		if c.wq != nil && c.wq.key == key {
			return
		}
	}
	w.remove(c)
	if !waiting {
		return
	}
	q := w.queues[key]
	if q == nil {
		if w.queues == nil {
			w.queues = map[waitKey]*waitQueue{}
		}
		q = &waitQueue{key: key}
		w.queues[key] = q
	}
	heap.Push(q, c)
	c.wq = q
}

// remove takes c out of its queue, if it is in one.
func (w *waitIndex) remove(c *consumer) {
	q := c.wq
	if q == nil {
		return
	}
	heap.Remove(q, c.wi)
	c.wq = nil
	if q.Len() == 0 {
		delete(w.queues, q.key)
	}
}

// next returns the oldest waiter that takes a fresh channel of b
// (nextWaiter), or nil: the head of b's own queue, or, unless b is
// draining, of the queues of roaming consumers of its zone and role that
// fit it — untagged ones unless b is hidden, and one per tag b carries.
func (w *waitIndex) next(b brokerSlot) *consumer {
	var best *consumer
	try := func(key waitKey) {
		if q := w.queues[key]; q != nil && (best == nil || q.cs[0].seq < best.seq) {
			best = q.cs[0]
		}
	}
	if b.ID != "" {
		try(waitKey{want: b.ID})
	}
	if b.Draining {
		return best
	}
	if !b.Hidden {
		try(waitKey{zone: b.Zone, role: b.Role, roams: true})
	}
	for _, tag := range b.Tags {
		if tag != "" {
			try(waitKey{zone: b.Zone, role: b.Role, tag: tag, roams: true})
		}
	}
	return best
}

// wanting counts the waiters that wait for connection id.
func (w *waitIndex) wanting(id string) int {
	if q := w.queues[waitKey{want: id}]; q != nil {
		return q.Len()
	}
	return 0
}

// slots appends the slots of every waiter to buf.
func (w *waitIndex) slots(buf []consumerSlot) []consumerSlot {
	for _, q := range w.queues {
		for _, c := range q.cs {
			buf = append(buf, c.slot())
		}
	}
	return buf
}

// waitCheck, when set (by the package's tests), makes the assignments
// actor compare its waiting index with a scan of every consumer after
// each message and at each use, and report any difference to it.
var waitCheck func(error)

// checkWaits reports waitDiffs(b) to waitCheck, when set; for a nil b,
// those of every broker.
func (a *assignments) checkWaits(b *brokerInfo) {
	if waitCheck == nil {
		return
	}
	diffs := a.waitDiffs(b)
	if b == nil {
		for _, o := range a.brokers {
			diffs = append(diffs, a.waitDiffs(o)...)
		}
	}
	for _, err := range diffs {
		waitCheck(err)
	}
}

// waitDiffs compares the index with a scan of every consumer: each
// waiting consumer, and only those, in the queue its fields name, at its
// place; and, when b is set, what the index answers about b (next,
// wanting, waitingSlots for wantOnUp) against nextWaiter, channelsToAsk
// and wantOnUp over the scan.
func (a *assignments) waitDiffs(b *brokerInfo) []error {
	var diffs []error
	diff := func(err error) { diffs = append(diffs, err) }
	n := 0
	for key, c := range a.consumers {
		switch {
		case !c.waitingNow() && c.wq != nil:
			diff(fmt.Errorf("consumer %s does not wait but is in the queue of %+v", key, c.wq.key))
		case !c.waitingNow():
		case c.wq == nil:
			diff(fmt.Errorf("consumer %s waits (%+v) but is in no queue", key, c.waitKey()))
		case c.wq.key != c.waitKey() || c.wq != a.waits.queues[c.wq.key]:
			diff(fmt.Errorf("consumer %s is in the queue of %+v, want %+v", key, c.wq.key, c.waitKey()))
		case c.wi >= len(c.wq.cs) || c.wq.cs[c.wi] != c:
			diff(fmt.Errorf("consumer %s is not at its place %d in its queue", key, c.wi))
		default:
			n++
		}
	}
	total := 0
	for key, q := range a.waits.queues {
		total += q.Len()
		if q.Len() == 0 {
			diff(fmt.Errorf("empty queue %+v kept", key))
		}
		for i := 1; i < q.Len(); i++ {
			if q.cs[(i-1)/2].seq > q.cs[i].seq {
				diff(fmt.Errorf("queue %+v out of order at %d", key, i))
			}
		}
	}
	if total != n {
		diff(fmt.Errorf("the queues hold %d consumers, %d wait", total, n))
	}
	if b == nil {
		return diffs
	}
	var scan []consumerSlot
	for _, c := range a.consumers {
		if c.waitingNow() {
			scan = append(scan, c.slot())
		}
	}
	want := ""
	if i := nextWaiter(scan, a.slotOf(b)); i >= 0 {
		want = scan[i].Key
	}
	got := ""
	if c := a.waits.next(a.slotOf(b)); c != nil {
		got = c.pid.Id
	}
	if got != want {
		diff(fmt.Errorf("next waiter for %s: the index says %q, a scan %q", b.id, got, want))
	}
	if got, want := a.waits.wanting(b.id), channelsToAsk(scan, b.id, 0, 0, 0); got != want {
		diff(fmt.Errorf("waiters for %s: the index counts %d, a scan %d", b.id, got, want))
	}
	if keys := wantOnUp(a.waitingSlots(), a.slotOf(b), a.brokerSlots()); !sameKeys(keys, wantOnUp(scan, a.slotOf(b), a.brokerSlots())) {
		diff(fmt.Errorf("wantOnUp of %s differs between the index and a scan", b.id))
	}
	return diffs
}

// sameKeys reports whether x and y hold the same keys, in any order.
func sameKeys(x, y []string) bool {
	x, y = slices.Clone(x), slices.Clone(y)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
