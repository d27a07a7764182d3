package nullbroker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// conn is one client connection. Its reader goroutine (readLoop) runs the
// handshake and then handles every frame under the server mutex; its writer
// goroutine (writeLoop) writes whatever has been queued with send. Anyone
// holding the server mutex may queue frames on any connection, so a publish
// on one connection delivers to consumers on another without waiting for a
// socket. The outgoing buffer is unbounded: a client that stops reading
// blocks only its own writer, and Close or Kill still end it by closing the
// socket.
type conn struct {
	srv *Server
	nc  net.Conn
	fr  frameReader

	done      chan struct{} // closed by abort
	abortOnce sync.Once

	// Outgoing frames, appended under wmu and written by writeLoop.
	wmu     sync.Mutex
	wbuf    []byte
	wclosed bool          // accept no more frames; writer exits once flushed
	wsig    chan struct{} // capacity 1: "wbuf has something"

	lastRead  atomic.Int64 // UnixNano of the last frame read
	lastWrite atomic.Int64 // UnixNano of the last socket write

	// Negotiated during the handshake by the reader goroutine and only read
	// afterwards (the handshake ends by setting opened under the mutex).
	user         string
	capBlocked   bool // client understands connection.blocked
	capCancel    bool // client understands server-sent basic.cancel
	capAuthClose bool // client wants connection.close on failed login
	channelMax   uint16
	frameMax     uint32
	heartbeat    uint16

	// Guarded by srv.mu.
	opened      bool // open-ok sent
	closing     bool // connection.close sent (or the connection is ending)
	released    bool // broker state released (see release)
	blockedSent bool // connection.blocked sent and not yet undone
	channels    map[uint16]*channel
	exclusive   map[*queue]struct{} // exclusive queues this connection owns
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:       s,
		nc:        nc,
		done:      make(chan struct{}),
		wsig:      make(chan struct{}, 1),
		channels:  make(map[uint16]*channel),
		exclusive: make(map[*queue]struct{}),
	}
	c.fr = frameReader{r: bufio.NewReaderSize(nc, 64<<10), max: s.cfg.FrameMax}
	return c
}

// ---- writing ----

// send queues the frames appended by build. It never blocks on the socket.
// Frames queued once the writer was told to finish (or the connection was
// aborted) are dropped.
func (c *conn) send(build func([]byte) []byte) {
	c.wmu.Lock()
	if c.wclosed {
		c.wmu.Unlock()
		return
	}
	c.wbuf = build(c.wbuf)
	c.wmu.Unlock()
	select {
	case c.wsig <- struct{}{}:
	default:
	}
}

// sendMethod queues one method frame.
func (c *conn) sendMethod(ch uint16, m methodID, args func(*codec.Encoder)) {
	c.send(func(b []byte) []byte { return appendMethod(b, ch, m, args) })
}

// writeLoop writes queued frames until the connection is aborted, or until
// finish was called and everything queued before it has been written.
//
// The writer is the last of the connection's goroutines to matter: it ends
// only after abort, and then takes the connection off the server's list,
// so Close and Kill reach every connection that still has goroutines.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	defer func() {
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.unlock()
	}()
	var spare []byte
	for {
		select {
		case <-c.wsig:
		case <-c.done:
			return
		}
		if !c.srv.freeze.wait(c.done) {
			return
		}
		c.wmu.Lock()
		buf, fin := c.wbuf, c.wclosed
		c.wbuf = spare[:0]
		c.wmu.Unlock()
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				c.abort()
				return
			}
			c.lastWrite.Store(time.Now().UnixNano())
		}
		if fin {
			c.abort()
			return
		}
		spare = nil
		if cap(buf) <= 1<<20 { // don't hold on to huge buffers
			spare = buf
		}
	}
}

// finish lets the writer flush what is queued, then close the socket.
func (c *conn) finish() {
	c.wmu.Lock()
	c.wclosed = true
	c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(flushTimeout))
	select {
	case c.wsig <- struct{}{}:
	default:
	}
}

// abort drops the connection at once: the socket is closed, queued frames
// are discarded and every goroutine of the connection ends. The reader then
// releases the connection's broker state.
func (c *conn) abort() {
	c.abortOnce.Do(func() {
		close(c.done)
		c.wmu.Lock()
		c.wclosed, c.wbuf = true, nil
		c.wmu.Unlock()
		c.nc.Close()
	})
}

// ---- reading ----

// readLoop is the connection's reader goroutine.
func (c *conn) readLoop() {
	defer c.srv.wg.Done()
	defer c.teardown()
	if !c.handshake() {
		return
	}
	for {
		if !c.srv.freeze.wait(c.done) {
			return
		}
		f, err := c.fr.read()
		if err != nil {
			// A frozen broker does not notice a client going away either.
			if c.srv.freeze.wait(c.done) {
				c.readFailed(err)
			}
			return
		}
		if c.heartbeat > 0 {
			c.lastRead.Store(time.Now().UnixNano())
		}
		// A frame read just before Freeze is held until Thaw.
		if !c.srv.freeze.wait(c.done) {
			return
		}
		keep, pause := c.handle(f)
		if !keep {
			return
		}
		// While the server is blocked, a publishing connection is not read
		// until Unblock, the way RabbitMQ applies its resource alarms.
		if pause {
			open := c.srv.unblocked.wait(c.done)
			c.srv.mu.Lock()
			c.srv.stats.Paused--
			c.srv.unlock()
			if !open {
				return
			}
		}
	}
}

// readFailed answers a malformed frame with 501 FRAME_ERROR. Other errors
// (EOF, reset, deadline) just end the connection.
func (c *conn) readFailed(err error) {
	var tooLarge errFrameTooLarge
	var badEnd errBadFrameEnd
	if errors.As(err, &tooLarge) || errors.As(err, &badEnd) {
		c.srv.mu.Lock()
		c.closeWith(newError(FrameError, "%v", err))
		c.srv.unlock()
	}
}

// teardown ends the connection: its broker state is released, then the
// writer flushes what is queued and closes the socket.
func (c *conn) teardown() {
	c.srv.mu.Lock()
	c.release()
	c.srv.unlock()
	c.finish()
}

// release frees everything the connection holds in the broker: its
// channels' consumers and unacknowledged messages (requeued) and its
// exclusive queues. It is idempotent; callers hold the server mutex.
func (c *conn) release() {
	if c.released {
		return
	}
	s := c.srv
	c.released, c.closing = true, true
	for _, ch := range c.channels {
		c.removeChannel(ch)
	}
	for q := range c.exclusive {
		s.deleteQueue(q)
	}
	s.stats.Connections--
}

// handshake runs connection.start through connection.open-ok. It reports
// whether the connection is open; if not, the caller tears it down.
func (c *conn) handshake() bool {
	s, cfg := c.srv, &c.srv.cfg
	_ = c.nc.SetReadDeadline(time.Now().Add(handshakeTimeout))

	var hdr [8]byte
	if _, err := io.ReadFull(c.fr.r, hdr[:]); err != nil {
		return false
	}
	if !bytes.Equal(hdr[:], protocolHeader) {
		// Spec §4.2.2: answer with the protocol header we do support.
		c.send(func(b []byte) []byte { return append(b, protocolHeader...) })
		return false
	}

	c.sendMethod(0, connectionStart, func(e *codec.Encoder) {
		e.Octet(0) // version-major
		e.Octet(9) // version-minor
		e.Table(s.serverProperties())
		e.LongStr("PLAIN")
		e.LongStr("en_US")
	})
	d, ok := c.expect(connectionStartOk)
	if !ok {
		return false
	}
	props, mech, resp := d.Table(), d.ShortStr(), d.LongStr()
	_ = d.ShortStr() // locale
	if err := d.Err(); err != nil {
		return c.refuse(errSyntax(err))
	}
	caps, _ := props["capabilities"].(codec.Table)
	c.capBlocked = caps["connection.blocked"] == true
	c.capCancel = caps["consumer_cancel_notify"] == true
	c.capAuthClose = caps["authentication_failure_close"] == true

	if mech != "PLAIN" {
		return c.refuse(newError(CommandInvalid, "unknown authentication mechanism '%s'", mech))
	}
	user, pass, ok := parsePlain(resp)
	if !ok || user != cfg.User || pass != cfg.Password {
		// Like RabbitMQ: explain with connection.close only to clients that
		// asked for it; otherwise just close the socket (clients such as
		// amqp091-go then report 403 on their own).
		if c.capAuthClose {
			return c.refuse(newError(AccessRefused,
				"Login was refused using authentication mechanism PLAIN. For details see the broker logfile."))
		}
		return false
	}
	c.user = user

	c.sendMethod(0, connectionTune, func(e *codec.Encoder) {
		e.Short(cfg.ChannelMax)
		e.Long(cfg.FrameMax)
		e.Short(cfg.Heartbeat)
	})
	if d, ok = c.expect(connectionTuneOk); !ok {
		return false
	}
	chMax, frMax, hb := d.Short(), d.Long(), d.Short()
	if err := d.Err(); err != nil {
		return c.refuse(errSyntax(err))
	}
	switch {
	case chMax > cfg.ChannelMax:
		return c.refuse(newError(NotAllowed, "negotiated channel_max = %d is higher than the maximum allowed value (%d)", chMax, cfg.ChannelMax))
	case frMax != 0 && frMax < minFrameMax:
		return c.refuse(newError(NotAllowed, "negotiated frame_max = %d is lower than the minimum allowed value (%d)", frMax, minFrameMax))
	case frMax > cfg.FrameMax:
		return c.refuse(newError(NotAllowed, "negotiated frame_max = %d is higher than the maximum allowed value (%d)", frMax, cfg.FrameMax))
	}
	if chMax == 0 {
		chMax = cfg.ChannelMax
	}
	if frMax == 0 {
		frMax = cfg.FrameMax
	}
	c.channelMax, c.frameMax, c.heartbeat = chMax, frMax, hb
	c.fr.max = frMax
	if hb > 0 {
		c.lastRead.Store(time.Now().UnixNano())
		s.wg.Add(1)
		go c.heartbeatLoop(time.Duration(hb) * time.Second)
	}

	if d, ok = c.expect(connectionOpen); !ok {
		return false
	}
	vhost := d.ShortStr()
	if err := d.Err(); err != nil {
		return c.refuse(errSyntax(err))
	}
	if vhost != cfg.VHost {
		return c.refuse(newError(NotAllowed, "vhost %s not found", vhost))
	}
	_ = c.nc.SetReadDeadline(time.Time{})

	s.mu.Lock()
	defer s.unlock()
	c.opened = true
	c.sendMethod(0, connectionOpenOk, func(e *codec.Encoder) { e.ShortStr("") })
	if s.blocked {
		c.notifyBlocked()
	}
	return true
}

// expect reads the next handshake method, which must be want on channel
// 0; heartbeats are skipped. A client giving up with connection.close gets
// close-ok.
func (c *conn) expect(want methodID) (*codec.Decoder, bool) {
	for {
		f, err := c.fr.read()
		if err != nil {
			return nil, false
		}
		if f.typ == frameHeartbeat {
			continue
		}
		if f.typ != frameMethod || f.channel != 0 || len(f.payload) < 4 {
			return nil, false
		}
		m := methodID{binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])}
		if m == connectionClose {
			c.sendMethod(0, connectionCloseOk, nil)
			return nil, false
		}
		if m != want {
			return nil, false
		}
		d := codec.NewDecoder(f.payload[4:])
		return &d, true
	}
}

// refuse ends a handshake with connection.close and waits (briefly) for
// close-ok. It returns false, for the handshake to return.
func (c *conn) refuse(e *amqpError) bool {
	c.srv.mu.Lock()
	c.closeWith(e)
	c.srv.unlock()
	for {
		f, err := c.fr.read()
		if err != nil {
			return false
		}
		if f.typ == frameMethod && f.channel == 0 && len(f.payload) >= 4 {
			m := methodID{binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])}
			if m == connectionCloseOk || m == connectionClose {
				return false
			}
		}
	}
}

// parsePlain splits a SASL PLAIN response, "authzid\0user\0password".
func parsePlain(resp string) (user, pass string, ok bool) {
	parts := strings.Split(resp, "\x00")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// handle handles one frame after the handshake. keep is false when the
// connection is finished; pause is true when the frame completed a publish
// while the server is blocked.
func (c *conn) handle(f frame) (keep, pause bool) {
	s := c.srv
	s.mu.Lock()
	defer s.unlock()

	if c.closing {
		// After connection.close only close-ok (or a crossing close) matters.
		if f.typ == frameMethod && f.channel == 0 && len(f.payload) >= 4 {
			switch (methodID{binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])}) {
			case connectionCloseOk:
				return false, false
			case connectionClose:
				c.sendMethod(0, connectionCloseOk, nil)
				return false, false
			}
		}
		return true, false
	}

	var (
		err       *amqpError
		ch        *channel
		published bool
	)
	switch f.typ {
	case frameHeartbeat:
		if f.channel != 0 {
			err = newError(FrameError, "heartbeat frame on channel %d", f.channel)
		}
	case frameMethod:
		if len(f.payload) < 4 {
			err = newError(FrameError, "method frame of %d bytes", len(f.payload))
			break
		}
		m := methodID{binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])}
		d := codec.NewDecoder(f.payload[4:])
		if f.channel == 0 {
			if keep, err = c.handleMethod0(m, &d); !keep {
				return false, false
			}
		} else if ch, err = c.channelFor(f.channel, m); ch != nil {
			err = ch.handleMethod(m, &d)
		}
		if err != nil {
			err.classID, err.methodID = m.class, m.method
		}
	case frameHeader, frameBody:
		if f.channel == 0 {
			err = newError(UnexpectedFrame, "content frame on channel 0")
			break
		}
		if ch, err = c.channelFor(f.channel, methodID{}); ch == nil {
			break
		}
		if f.typ == frameHeader {
			published, err = ch.handleHeader(f.payload)
		} else {
			published, err = ch.handleBody(f.payload)
		}
	default:
		err = newError(FrameError, "unknown frame type %d", f.typ)
	}
	if err != nil {
		if isHardError(err.code) || ch == nil {
			c.closeWith(err)
		} else {
			ch.fail(err)
		}
	}
	if published && s.blocked {
		s.stats.Paused++ // the reader waits for Unblock before its next read
		return true, true
	}
	return true, false
}

// handleMethod0 handles a method on channel 0 after the handshake.
func (c *conn) handleMethod0(m methodID, d *codec.Decoder) (keep bool, err *amqpError) {
	switch m {
	case connectionClose:
		// Like RabbitMQ, close the channels before answering, so that
		// when the client's Close returns the broker has let go of its
		// consumers, unacked messages and exclusive queues.
		c.release()
		c.sendMethod(0, connectionCloseOk, nil)
		return false, nil
	case connectionCloseOk:
		return false, nil
	case connectionUpdSecret:
		c.sendMethod(0, connectionUpdSecOk, nil)
		return true, nil
	}
	return true, newError(ChannelError, "unexpected method in connection state running")
}

// channelFor returns the open channel a frame is for. It handles
// channel.open itself, and the frames for a channel the broker is closing
// (it waits for close-ok and ignores everything else), returning nil then.
func (c *conn) channelFor(id uint16, m methodID) (*channel, *amqpError) {
	if id > c.channelMax {
		return nil, newError(NotAllowed, "channel number %d exceeds the negotiated channel_max (%d)", id, c.channelMax)
	}
	ch := c.channels[id]
	switch {
	case ch == nil && m == channelOpen:
		c.channels[id] = newChannel(c, id)
		c.srv.stats.Channels++
		c.sendMethod(id, channelOpenOk, func(e *codec.Encoder) { e.LongStr("") })
		return nil, nil
	case ch == nil && (m == channelCloseOk || m == channelClose):
		if m == channelClose {
			c.sendMethod(id, channelCloseOk, nil)
		}
		return nil, nil
	case ch == nil:
		return nil, newError(ChannelError, "expected 'channel.open'")
	case ch.closing:
		switch m {
		case channelClose:
			c.sendMethod(id, channelCloseOk, nil)
			c.removeChannel(ch)
		case channelCloseOk:
			c.removeChannel(ch)
		}
		return nil, nil
	case m == channelOpen:
		return nil, newError(ChannelError, "second 'channel.open' seen")
	}
	return ch, nil
}

// removeChannel releases ch and forgets it.
func (c *conn) removeChannel(ch *channel) {
	ch.release()
	delete(c.channels, ch.id)
	c.srv.stats.Channels--
}

// closeWith sends connection.close and waits for close-ok: the reader then
// ignores everything else and gives up after closeOkTimeout. Callers hold
// the server mutex.
func (c *conn) closeWith(e *amqpError) {
	if c.closing {
		return
	}
	c.closing = true
	c.sendMethod(0, connectionClose, func(enc *codec.Encoder) {
		enc.Short(uint16(e.code))
		enc.ShortStr(e.text)
		enc.Short(e.classID)
		enc.Short(e.methodID)
	})
	_ = c.nc.SetReadDeadline(time.Now().Add(closeOkTimeout))
}

// notifyBlocked sends connection.blocked if the client understands it.
// Callers hold the server mutex.
func (c *conn) notifyBlocked() {
	if c.opened && c.capBlocked && !c.blockedSent && !c.closing {
		c.blockedSent = true
		reason := c.srv.blockReason
		c.sendMethod(0, connectionBlocked, func(e *codec.Encoder) { e.ShortStr(reason) })
	}
}

// notifyUnblocked undoes notifyBlocked. Callers hold the server mutex.
func (c *conn) notifyUnblocked() {
	if c.blockedSent {
		c.blockedSent = false
		c.sendMethod(0, connectionUnblocked, nil)
	}
}

// heartbeatLoop sends a heartbeat whenever nothing was written for a while
// (so the client hears from the broker at least once per interval) and
// drops the client when it has sent nothing for two intervals.
func (c *conn) heartbeatLoop(interval time.Duration) {
	defer c.srv.wg.Done()
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			if c.srv.frozen.Load() {
				// A frozen broker neither sends nor notices silence.
				c.lastRead.Store(now.UnixNano())
				continue
			}
			if now.Sub(time.Unix(0, c.lastRead.Load())) > 2*interval {
				c.abort() // missed heartbeats from client
				return
			}
			if now.Sub(time.Unix(0, c.lastWrite.Load())) >= interval/4 {
				c.send(appendHeartbeat)
			}
		}
	}
}
