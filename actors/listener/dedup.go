package listener

import (
	"container/list"
	"context"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultDedupEntries bounds a listener's dedup memory.
const DefaultDedupEntries = 10_000

// DedupSpec turns on duplicate suppression: a delivery whose key (its AMQP
// MessageId, else its envelope's Msg-ID; a delivery without either is never
// suppressed) was handled successfully within Window is acked without
// running its handler, and counted as a duplicate. A duplicate arriving
// while the first is still being handled waits for its outcome, holding
// its worker slot: acked if the first succeeded, run if it failed. What a listener remembers is
// bounded by Entries (the oldest go first) and by Window. The memory is the
// listener's, in process: it suppresses the redeliveries a reconnect or a
// resending publisher causes, not duplicates handled by another instance.
type DedupSpec struct {
	// Window is how long a handled key is remembered; zero turns dedup
	// off. Off by default.
	Window time.Duration
	// Entries bounds how many keys are remembered. Defaults to
	// DefaultDedupEntries.
	Entries int
}

// dedupKey is d's dedup key: its MessageId, else its envelope's Msg-ID.
func dedupKey(d amqp.Delivery, del *Delivery) string {
	if d.MessageId != "" {
		return d.MessageId
	}
	if del.Envelope != nil {
		return del.Envelope.MsgID()
	}
	return ""
}

// dedup remembers the keys of deliveries being handled and of those handled
// successfully within the window.
type dedup struct {
	window  time.Duration
	entries int
	now     func() time.Time
	onWait  func() // called when a duplicate starts to wait for the first (tests)

	mu    sync.Mutex
	keys  map[string]*list.Element // of *dedupEntry
	order *list.List               // oldest first: by start, then by success
}

type dedupEntry struct {
	key  string
	done chan struct{} // closed once the first delivery's outcome is known
	ok   bool          // it succeeded (set before done is closed)
	at   time.Time     // when it succeeded
}

// newDedup returns the dedup memory of spec, nil when it is off.
func newDedup(spec DedupSpec) *dedup {
	if spec.Window <= 0 {
		return nil
	}
	n := spec.Entries
	if n <= 0 {
		n = DefaultDedupEntries
	}
	return &dedup{window: spec.Window, entries: n, now: time.Now, keys: map[string]*list.Element{}, order: list.New()}
}

// dedupClaim is the right to handle one key; finish must be called once.
type dedupClaim struct {
	d *dedup
	e *list.Element
}

// begin returns a claim to handle key, or dup true when key was handled
// successfully within the window (also after waiting for a delivery of
// key being handled). It waits while another delivery of key is being
// handled; it returns ctx's error if ctx ends first.
func (d *dedup) begin(ctx context.Context, key string) (c *dedupClaim, dup bool, err error) {
	for {
		d.mu.Lock()
		d.expireLocked()
		el, ok := d.keys[key]
		if ok {
			if e := el.Value.(*dedupEntry); e.ok && d.now().Sub(e.at) >= d.window {
				d.removeLocked(el) // expired, behind a key still being handled
				ok = false
			}
		}
		if !ok {
			for d.order.Len() >= d.entries {
				d.removeLocked(d.order.Front())
			}
			el = d.order.PushBack(&dedupEntry{key: key, done: make(chan struct{})})
			d.keys[key] = el
			d.mu.Unlock()
			return &dedupClaim{d: d, e: el}, false, nil
		}
		e := el.Value.(*dedupEntry)
		select {
		case <-e.done: // succeeded (a failure removes its entry) within the window
			d.mu.Unlock()
			return nil, true, nil
		default:
		}
		d.mu.Unlock()
		if d.onWait != nil {
			d.onWait()
		}
		select {
		case <-e.done:
			if e.ok {
				return nil, true, nil
			}
			// It failed: this one tries (or a third one got there first).
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// finish records the outcome of the claimed delivery and wakes the
// deliveries of the same key waiting for it.
func (c *dedupClaim) finish(ok bool) {
	d, e := c.d, c.e.Value.(*dedupEntry)
	d.mu.Lock()
	defer d.mu.Unlock()
	e.ok = ok
	mine := d.keys[e.key] == c.e // not evicted meanwhile
	if ok {
		e.at = d.now()
		if mine {
			d.order.MoveToBack(c.e)
		}
	} else if mine {
		d.removeLocked(c.e)
	}
	close(e.done)
}

// expireLocked forgets the successes older than the window, from the
// oldest on; a key still being handled stops the walk (it is never older
// than those behind it by more than its handling time).
func (d *dedup) expireLocked() {
	now := d.now()
	for el := d.order.Front(); el != nil; el = d.order.Front() {
		e := el.Value.(*dedupEntry)
		select {
		case <-e.done:
		default:
			return
		}
		if now.Sub(e.at) < d.window {
			return
		}
		d.removeLocked(el)
	}
}

func (d *dedup) removeLocked(el *list.Element) {
	e := el.Value.(*dedupEntry)
	if d.keys[e.key] == el {
		delete(d.keys, e.key)
	}
	d.order.Remove(el)
}

// len is how many keys are remembered (tests).
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.keys)
}
