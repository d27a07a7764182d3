package supervisor

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// uiMaxLag is how many frames a stream may fall behind before it gets a
// reset instead of the updates it missed.
const uiMaxLag = 8

// uiStreamRetry is the Retry-After of a stream refused at the cap.
const uiStreamRetry = 10 * time.Second

// uiHub computes the observer's snapshots once per change of the tables
// (and once per uiTick for the rates), at most every uiCoalesce, and shares
// them with every stream as a chain of frames. It feeds the timeline too.
// While no stream is open it only follows the timeline (ServeAdmin's
// recorder) or does not run at all (a bare AdminHandler, whose first stream
// starts it and whose last stream stops it). It is safe for concurrent use.
type uiHub struct {
	u         *uiServer
	max       int           // streams open at once
	tick      time.Duration // uiTick; tests make it longer
	snapshots atomic.Int64  // read so far, for tests

	mu        sync.Mutex    // guards the fields below
	streams   int           // open
	running   bool          // a goroutine runs the hub
	permanent bool          // ServeAdmin runs it until the server stops
	cur       *uiFrame      // the latest frame; nil while no stream is open
	ready     chan struct{} // closed once cur is set
	wake      chan struct{} // tells the runner that streams came or went (buffered)
}

// uiFrame is one snapshot as the streams send it. The chain of frames is
// linked by after, set before next is closed. A frame keeps the maps it was
// built from (never changed after) to build a reset on demand.
type uiFrame struct {
	seq    uint64
	update []byte        // the "update" event from the frame before; nil for the first
	next   chan struct{} // closed once after is set
	after  *uiFrame

	at     time.Time
	parts  map[string][]byte
	rows   map[string][]json.RawMessage
	tlSeq  uint64 // the timeline's last event in this frame
	tl     *uiTimeline
	once   sync.Once
	reset  []byte // the "reset" event, built once
	errMsg []byte // a comment saying why no reset could be built
}

func newUIHub(u *uiServer, max int) *uiHub {
	return &uiHub{u: u, max: max, tick: uiTick, ready: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// join counts a new stream, false at the cap. It starts the hub when
// nothing runs it.
func (h *uiHub) join() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams >= h.max {
		return false
	}
	h.streams++
	if !h.running {
		h.running = true
		go h.run(context.Background())
	}
	h.poke()
	return true
}

// full tells whether the streams are at the cap.
func (h *uiHub) full() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams >= h.max
}

// leave counts a stream gone.
func (h *uiHub) leave() {
	h.mu.Lock()
	h.streams--
	h.poke()
	h.mu.Unlock()
}

// poke wakes the runner, if it is not awake already.
func (h *uiHub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// first returns the latest frame, waiting for the first one.
func (h *uiHub) first(ctx context.Context) (*uiFrame, error) {
	for {
		h.mu.Lock()
		cur, ready := h.cur, h.ready
		h.mu.Unlock()
		if cur != nil {
			return cur, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-h.u.t.done:
			return nil, context.Canceled
		}
	}
}

// latest returns the latest frame, nil while no stream is open.
func (h *uiHub) latest() *uiFrame {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// start runs the hub until ctx ends or the tree stops, streams or not:
// ServeAdmin's, so that the timeline holds the changes made while no page
// is open. It is called before the server serves.
func (h *uiHub) start(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.permanent = true
	if !h.running {
		h.running = true
		go h.run(ctx)
	}
}

// run computes the frames until ctx ends, the tree stops or, unless
// permanent, the last stream left.
func (h *uiHub) run(ctx context.Context) {
	ticker := time.NewTicker(h.tick)
	defer ticker.Stop()
	handedOver := false // true once a later join may have started another runner
	defer func() {
		if handedOver {
			return
		}
		h.mu.Lock()
		h.running, h.permanent = false, false // a stream that comes late runs a runner of its own
		h.setLocked(nil)
		h.mu.Unlock()
	}()
	var (
		sent   *uiSent
		rates  *uiRates
		built  time.Time
		ticked bool
	)
	for {
		// One watch on every table the observer shows, taken before the
		// snapshot is read so that a change made meanwhile wakes the next
		// round; unwatch ends its goroutine.
		wctx, unwatch := context.WithCancel(ctx)
		watch := h.u.t.Registry().Changed(wctx)
		start := time.Now()
		h.mu.Lock()
		streams := h.streams
		if streams == 0 {
			h.setLocked(nil)
			if !h.permanent {
				h.running, handedOver = false, true // in the lock: the next join starts a runner
				h.mu.Unlock()
				unwatch()
				return
			}
		}
		h.mu.Unlock()
		if streams == 0 { // nobody follows: the timeline only
			sent, rates = nil, nil
			if !ticked {
				h.snapshots.Add(1)
				h.u.timeline.observe(h.u.t.uiState(nil).items(), start)
			}
		} else {
			if rates == nil {
				rates = newUIRates()
			} else if ticked {
				rates.tick(built)
			}
			built = start
			h.publish(&sent, rates, start)
		}
		why := h.wait(ctx, watch, ticker.C)
		unwatch()
		switch why {
		case uiDone:
			return
		case uiWoken:
			ticked = false
			continue // the first stream came, or the last left: no need to wait
		}
		ticked = why == uiTicked
		if wait := uiCoalesce - time.Since(start); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return
			case <-h.u.t.done:
				timer.Stop()
				return
			}
		}
	}
}

// Why uiHub.wait returned.
const (
	uiChanged = iota // a table changed
	uiTicked         // uiTick passed
	uiWoken          // the first stream came or the last left
	uiDone           // ctx ended or the tree stopped
)

// wait returns when watch (the registry's Changed) fires, ticks ticks, the
// streams need the runner (a first frame, or a stop), ctx ends or the tree
// stops. A stream that comes while frames are made needs nothing: it
// starts from the latest.
func (h *uiHub) wait(ctx context.Context, watch <-chan error, ticks <-chan time.Time) int {
	for {
		select {
		case err := <-watch:
			if err != nil { // ctx ended
				return uiDone
			}
		case <-ticks:
			return uiTicked
		case <-h.wake:
			h.mu.Lock()
			needed := (h.streams > 0 && h.cur == nil) || (h.streams == 0 && (h.cur != nil || !h.permanent))
			h.mu.Unlock()
			if !needed {
				continue
			}
			return uiWoken
		case <-ctx.Done():
			return uiDone
		case <-h.u.t.done:
			return uiDone
		}
		return uiChanged
	}
}

// publish reads a snapshot and, when it differs from the frame before (or
// there is none), appends a frame to the chain. *sent is nil when the next
// frame starts a new chain.
func (h *uiHub) publish(sent **uiSent, rates *uiRates, at time.Time) {
	s := h.u.t.uiState(rates)
	h.snapshots.Add(1)
	h.u.timeline.observe(s.items(), at)
	h.mu.Lock()
	prev := h.cur
	h.mu.Unlock()
	reset := *sent == nil || prev == nil
	if reset {
		*sent = newUISent()
	}
	up, err := (*sent).next(s, &h.u.timeline, at, reset)
	if err != nil {
		*sent = nil // marshalling our own rows failed; never happens: start over next time
		h.u.t.adminLog().Error("observer: a snapshot could not be encoded", "err", err)
		return
	}
	if up == nil {
		return
	}
	f := &uiFrame{next: make(chan struct{}), at: at, parts: (*sent).parts, rows: (*sent).rows, tlSeq: (*sent).seq,
		tl: &h.u.timeline}
	name := "update"
	if reset {
		name = "reset"
	}
	b, err := encodeEvent(name, up)
	if err != nil {
		*sent = nil
		h.u.t.adminLog().Error("observer: a snapshot could not be encoded", "err", err)
		return
	}
	if reset {
		f.once.Do(func() { f.reset = b })
	} else {
		f.update = b
	}
	h.mu.Lock()
	if prev != nil { // a frame that starts over (no update) tells its streams to reset
		f.seq = prev.seq + 1
		prev.after = f
		close(prev.next)
	}
	h.setLocked(f)
	h.mu.Unlock()
}

// setLocked makes f the latest frame; h.mu held on entry.
func (h *uiHub) setLocked(f *uiFrame) {
	h.cur = f
	select {
	case <-h.ready:
		if f == nil {
			h.ready = make(chan struct{})
		}
	default:
		if f != nil {
			close(h.ready)
		}
	}
}

// resetEvent returns the frame's "reset" event: everything it shows, and
// the timeline up to it.
func (f *uiFrame) resetEvent() []byte {
	f.once.Do(func() {
		up := &UIUpdate{Time: f.at.Format(adminTime), Reset: true, Status: f.parts["status"], Tree: f.parts["tree"],
			Confirms: f.parts["confirms"], Calls: f.parts["calls"], Tables: map[string]*UITableDiff{}}
		for name, rows := range f.rows {
			up.Tables[name] = &UITableDiff{Set: rows}
		}
		up.Timeline = f.tl.upTo(f.tlSeq)
		b, err := encodeEvent("reset", up)
		if err != nil { // of bytes marshalled once already: never happens
			b = []byte(": the snapshot could not be encoded\n\n")
		}
		f.reset = b
	})
	return f.reset
}
