package actors

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLinkAborted is the cause of a write Warren abandoned: it outlived its
// caller's deadline, so Warren closed the connection's socket.
var ErrLinkAborted = errors.New("warren: write outlived its deadline; the connection's socket was closed")

// Link is the socket under one AMQP connection. Warren dials it and owns
// it: when a close or a write outlives its deadline, Warren closes the
// socket, which fails every read and write on it at once — amqp091 never
// gives up on a blocked socket write by itself, and its own shutdown waits
// for the writer. A nil *Link is valid and guards nothing.
type Link struct {
	mu      sync.Mutex
	raw     net.Conn
	aborted atomic.Bool
	// The writes in progress (the low 32 bits) and the writes completed
	// (the high 32, wrapping), in one word so that a write's end is one
	// atomic add, not two.
	writes atomic.Uint64
	filter atomic.Pointer[frameFilter] // the read side, once dialled through filteredDial
}

// newLink wraps dial so that the socket it returns is kept by the Link.
func newLink(dial func(network, addr string) (net.Conn, error)) (*Link, func(network, addr string) (net.Conn, error)) {
	l := &Link{}
	return l, func(network, addr string) (net.Conn, error) {
		c, err := dial(network, addr)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.aborted.Load() { // aborted while connecting
			_ = c.Close()
			return nil, ErrLinkAborted
		}
		l.raw = c
		return c, nil
	}
}

// Abort closes the socket at once. It is safe to call more than once and
// from any goroutine.
func (l *Link) Abort() {
	if l == nil {
		return
	}
	l.mu.Lock()
	raw := l.raw
	first := l.aborted.CompareAndSwap(false, true)
	l.mu.Unlock()
	if raw != nil && first {
		_ = raw.Close()
	}
}

// connected reports whether the dial made a TCP connection (the socket
// was kept, aborted since or not).
func (l *Link) connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw != nil
}

// Aborted reports whether Abort closed the socket.
func (l *Link) Aborted() bool { return l != nil && l.aborted.Load() }

// Guard runs write (a publish) on the calling goroutine under the link's
// stall watch; if ctx ends while write is still running, the socket is
// aborted so that write returns at once, and Guard returns ctx's error
// joined with ErrLinkAborted. A ctx that cannot end costs nothing more
// than the watch.
func (l *Link) Guard(ctx context.Context, write func() error) error {
	if l == nil {
		return write()
	}
	if ctx.Done() == nil {
		return l.Watch(write)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var done atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		if !done.Load() {
			l.Abort()
		}
	})
	err := l.Watch(write)
	done.Store(true)
	if !stop() && l.Aborted() { // the callback ran: this write was cut
		return errors.Join(ErrLinkAborted, ctx.Err())
	}
	return err
}

// Watch runs write (an ack, a reply) on the calling goroutine and counts
// it for the stall watchdog: a write that makes no progress for the link's
// stall limit gets the socket aborted.
func (l *Link) Watch(write func() error) error {
	if l == nil {
		return write()
	}
	l.writes.Add(1)
	err := write()
	l.writes.Add(writeEnded)
	if err != nil && l.Aborted() {
		return errors.Join(ErrLinkAborted, err)
	}
	return err
}

// writeEnded, added to Link.writes, counts a write completed and one
// fewer in progress.
const writeEnded = 1<<32 - 1

// watchdog aborts the socket when writes are pending and none completed
// for limit. It runs until stop is closed.
func (l *Link) watchdog(limit time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(max(limit/4, 10*time.Millisecond))
	defer tick.Stop()
	var last uint64
	var since time.Time
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			w := l.writes.Load()
			p := w >> 32
			switch {
			case uint32(w) == 0 || p != last:
				last, since = p, time.Time{}
			case since.IsZero():
				since = now
			case now.Sub(since) >= limit:
				l.Abort()
				return
			}
		}
	}
}

// WriteGuard is [Link.Guard] for the writes on one channel, which its owner
// serialises (a publish lane's write token): it keeps its watch of a ctx
// from one write to the next, so that a producer writing with the same ctx
// (or ctxs sharing one Done, as values derived from it do) registers it
// with context.AfterFunc once instead of around every write. When the ctx
// ends while one of its writes runs, the socket is aborted, as Guard does.
// Release it when the channel is given up.
type WriteGuard struct {
	link *Link

	mu       sync.Mutex  // guards stop, seq, released and the stores to w
	stop     func() bool // ends the watch
	seq      uint64      // the last watch's id
	released bool

	w       atomic.Pointer[guardWatch] // the watch, read without mu by the writes under its ctx; nil once released
	writing atomic.Uint64              // the id of the watch whose ctx the write in progress runs under; 0: none
}

// guardWatch is one registration of a WriteGuard's ctx watch: a callback
// of an older ctx that runs late never aborts a write of a newer one.
type guardWatch struct {
	done <-chan struct{} // the Done of the ctx watched
	id   uint64          // from 1, per WriteGuard
}

// NewWriteGuard returns a WriteGuard of l (nil l: it guards nothing).
func (l *Link) NewWriteGuard() *WriteGuard { return &WriteGuard{link: l} }

// Guard runs write as [Link.Guard] does. Calls must not overlap.
func (g *WriteGuard) Guard(ctx context.Context, write func() error) error {
	if g == nil || g.link == nil {
		return write()
	}
	l := g.link
	if ctx.Done() == nil {
		return l.Watch(write)
	}
	w := g.watch(ctx)
	if w == nil { // released: a straggler's write, watched on its own
		return l.Guard(ctx, write)
	}
	g.writing.Store(w.id)             // an id, not the pointer: no write barrier on the publish path
	if err := ctx.Err(); err != nil { // after the store: a watch that fires now sees it
		g.writing.Store(0)
		return err
	}
	err := l.Watch(write)
	g.writing.Store(0)
	if err != nil && ctx.Err() != nil && l.Aborted() { // the watch cut this write
		return errors.Join(ErrLinkAborted, ctx.Err())
	}
	return err
}

// watch returns the watch of ctx, registering it unless it is the one
// watched already; nil once released.
func (g *WriteGuard) watch(ctx context.Context) *guardWatch {
	done := ctx.Done()
	if w := g.w.Load(); w != nil && w.done == done { // the common case: no lock
		return w
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch w := g.w.Load(); {
	case g.released:
		return nil
	case w != nil && w.done == done:
		return w
	}
	if g.stop != nil {
		g.stop()
	}
	g.seq++
	w := &guardWatch{done: done, id: g.seq}
	g.stop = context.AfterFunc(ctx, func() { g.fired(w) })
	g.w.Store(w)
	return w
}

// fired is the watch w's callback, once its ctx ended: it cuts the write in
// progress if that write runs under w (a late callback of an older watch
// cuts nothing).
func (g *WriteGuard) fired(w *guardWatch) {
	if g.writing.Load() == w.id {
		g.link.Abort()
	}
}

// Release ends the watch, so that a ctx that lives on does not keep the
// guard; later writes are guarded one by one. Safe from any goroutine.
func (g *WriteGuard) Release() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop != nil {
		g.stop()
	}
	g.stop, g.released = nil, true
	g.w.Store(nil)
}
