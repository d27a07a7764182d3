package actors

import (
	"net"
	"sync"
	"time"
)

// coalescer is the write side of a connection's socket. amqp091 flushes
// its buffer after every group of frames (a publish, an ack, a reply): one
// write syscall each, under the connection's send lock, so a stream of
// publishes pays one syscall apiece and publishers sharing the connection
// queue behind each other's. The coalescer copies each write into a pending
// buffer and returns; a flusher goroutine, which runs only while bytes are
// pending, writes out in one syscall all that gathered during its last
// one. The Erlang client's rabbit_writer, under Kazoo, does the same: it
// flushes when its mailbox is empty.
//
// The bytes keep their order, and a write returns once they are Warren's to
// send, as a write into the kernel's socket buffer did: neither means the
// broker read them (a confirm does). Past coalesceMax pending bytes a write
// waits for the flusher, so a broker that stops reading holds its writers
// up, as the socket did, and the link's stall watchdog and write guards
// see them wait. The first failed write closes the socket (its stream may
// end mid-frame) and fails every later one. Reads, deadlines and
// addresses pass through to the socket.
type coalescer struct {
	net.Conn
	link *Link // counts the flusher's writes for the stall watchdog; nil: none
	// closeWait is how long Close lets pending bytes go out (closeFlushWait).
	closeWait time.Duration

	mu       sync.Mutex
	space    sync.Cond // broadcast when the flusher takes pend, or writes end
	pend     []byte    // written, not yet sent
	spare    []byte    // the buffer the last flush sent, reused as the next pend
	flushing bool      // a flusher goroutine runs
	err      error     // every later write fails with it: the failed write's, or net.ErrClosed after Close
	flushers sync.WaitGroup
}

const (
	// coalesceMax is how many pending bytes make a write wait for the
	// flusher.
	coalesceMax = 64 << 10
	// coalesceKeep caps the buffer a flush keeps for the next one.
	coalesceKeep = 64 << 10
	// closeFlushWait is how long Close lets pending bytes (the close-ok of a
	// close the broker sent, say) go out before it closes the socket.
	closeFlushWait = 50 * time.Millisecond
)

func newCoalescer(c net.Conn, l *Link) *coalescer {
	w := &coalescer{Conn: c, link: l, closeWait: closeFlushWait}
	w.space.L = &w.mu
	return w
}

// Write queues p to be sent and returns, or waits while coalesceMax bytes
// are pending.
func (w *coalescer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for w.err == nil && len(w.pend) >= coalesceMax {
		w.space.Wait()
	}
	if err := w.err; err != nil {
		w.mu.Unlock()
		return 0, err
	}
	w.pend = append(w.pend, p...)
	if !w.flushing {
		w.flushing = true
		w.flushers.Add(1)
		go w.flush()
	}
	w.mu.Unlock()
	return len(p), nil
}

// flush sends the pending bytes until none are left or a write fails.
func (w *coalescer) flush() {
	defer w.flushers.Done()
	w.mu.Lock()
	var failed error
	for len(w.pend) > 0 && failed == nil {
		out := w.pend
		w.pend, w.spare = w.spare[:0], nil
		w.space.Broadcast()
		w.mu.Unlock()
		failed = w.send(out)
		w.mu.Lock()
		if cap(out) <= coalesceKeep {
			w.spare = out[:0]
		}
	}
	if failed != nil && w.err == nil {
		w.err = failed
	}
	w.flushing = false
	w.space.Broadcast()
	w.mu.Unlock()
	if failed != nil {
		_ = w.Conn.Close()
	}
}

// send writes b to the socket, counted by the link's stall watchdog.
func (w *coalescer) send(b []byte) error {
	if w.link != nil {
		w.link.writes.Add(1)
		defer w.link.writes.Add(writeEnded)
	}
	_, err := w.Conn.Write(b)
	return err
}

// Close fails later writes, gives the pending bytes closeWait to go
// out, closes the socket, and returns once the flusher has ended.
func (w *coalescer) Close() error {
	w.mu.Lock()
	if w.err == nil {
		w.err = net.ErrClosed
	}
	w.space.Broadcast()
	flushing := w.flushing
	w.mu.Unlock()
	if flushing {
		_ = w.Conn.SetWriteDeadline(time.Now().Add(w.closeWait))
		w.flushers.Wait()
	}
	err := w.Conn.Close()
	w.flushers.Wait()
	return err
}
