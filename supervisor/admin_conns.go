package supervisor

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// adminCapWarnEvery is how often, at most, the admin server logs that it
// is at its connection cap; each warning counts what it closed since the
// one before.
const adminCapWarnEvery = 10 * time.Second

// capListener caps the connections the admin server holds open. At the
// cap, a new connection takes the place of the one idle the longest
// (waiting for its next request, else for its first): an attacker who
// holds connections open keeps only what the idle timeout and the next
// client leave it, and /healthz still gets in. When every connection is
// busy (a request or an event stream in progress) the new one is closed at
// once, before anything is read from it: answering 503 would mean reading
// its request first (or risking a reset that hides the answer), which is
// the work the cap is there to refuse. The server reports each
// connection's state through track (http.Server.ConnState).
type capListener struct {
	net.Listener
	max int
	log *slog.Logger

	mu      sync.Mutex            // guards the fields below
	conns   map[*capConn]connSeen // open connections
	evicted int                   // idle connections closed for a new one since the last warning
	refused int                   // new connections closed at once since the last warning
	warned  time.Time             // of the last warning
}

// connSeen is a connection's last state and since when.
type connSeen struct {
	state http.ConnState
	since time.Time
}

// capConn is a connection counted by its capListener until it closes.
type capConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func newCapListener(ln net.Listener, max int, log *slog.Logger) *capListener {
	return &capListener{Listener: ln, max: max, log: log, conns: map[*capConn]connSeen{}}
}

// Accept returns the next connection, making room for it at the cap.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		now := time.Now()
		cc := &capConn{Conn: c, l: l}
		l.mu.Lock()
		var victim *capConn
		if len(l.conns) >= l.max {
			victim = l.idlest()
			if victim == nil {
				l.refused++
				l.warnLocked(now)
				l.mu.Unlock()
				_ = c.Close()
				continue
			}
			delete(l.conns, victim)
			l.evicted++
			l.warnLocked(now)
		}
		l.conns[cc] = connSeen{state: http.StateNew, since: now}
		l.mu.Unlock()
		if victim != nil {
			_ = victim.Conn.Close() // its server goroutine sees the error and closes it again
		}
		return cc, nil
	}
}

// idlest returns the connection idle the longest, nil when none is; l.mu
// held on entry.
func (l *capListener) idlest() *capConn {
	var best *capConn
	var seen connSeen
	for c, s := range l.conns {
		if s.state != http.StateIdle && s.state != http.StateNew {
			continue
		}
		// Between two requests before waiting for a first one, then the oldest.
		better := best == nil ||
			(s.state == http.StateIdle && seen.state == http.StateNew) ||
			(s.state == seen.state && s.since.Before(seen.since))
		if better {
			best, seen = c, s
		}
	}
	return best
}

// warnLocked logs the connections evicted and refused, at most every
// adminCapWarnEvery; l.mu held on entry.
func (l *capListener) warnLocked(now time.Time) {
	if now.Sub(l.warned) < adminCapWarnEvery {
		return
	}
	l.log.Warn("admin API at its connection cap: closed idle connections for new ones, refused new ones while all were busy",
		"cap", l.max, "idle_closed", l.evicted, "refused", l.refused)
	l.evicted, l.refused, l.warned = 0, 0, now
}

// track records a connection's state; it is the server's ConnState hook.
func (l *capListener) track(c net.Conn, state http.ConnState) {
	cc, ok := c.(*capConn)
	if !ok {
		return
	}
	if state == http.StateClosed || state == http.StateHijacked {
		l.forget(cc)
		return
	}
	l.mu.Lock()
	if _, open := l.conns[cc]; open {
		l.conns[cc] = connSeen{state: state, since: time.Now()}
	}
	l.mu.Unlock()
}

// open returns how many connections are counted.
func (l *capListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// count returns how many connections are in state.
func (l *capListener) count(state http.ConnState) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.conns {
		if s.state == state {
			n++
		}
	}
	return n
}

func (l *capListener) forget(c *capConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Close closes the connection and stops counting it.
func (c *capConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}
