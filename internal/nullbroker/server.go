package nullbroker

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// Config configures a Server. The zero value is a usable guest/guest broker
// on vhost "/".
type Config struct {
	// User and Password are the only credentials accepted (PLAIN
	// mechanism). Both default to "guest".
	User, Password string
	// VHost is the only virtual host; opening another is refused with 530
	// NOT_ALLOWED. Defaults to "/".
	VHost string
	// ChannelMax is proposed in connection.tune; a client may lower it.
	// Defaults to 2047, RabbitMQ's default.
	ChannelMax uint16
	// FrameMax is proposed in connection.tune; a client may lower it (not
	// below 4096). Defaults to 131072, RabbitMQ's default.
	FrameMax uint32
	// Heartbeat is the interval in seconds proposed in connection.tune. The
	// client's answer in tune-ok is what is used; 0 disables heartbeats.
	Heartbeat uint16
	// MaxMessageSize, when positive, is the largest message body accepted;
	// a larger publish closes its channel with 406 PRECONDITION_FAILED, as
	// RabbitMQ's max_message_size does.
	MaxMessageSize int
	// Product and Version are advertised in the server properties.
	// Defaults "nullbroker" and "0.1".
	Product, Version string
}

// withDefaults fills in zero fields.
func (c Config) withDefaults() Config {
	if c.User == "" {
		c.User = "guest"
	}
	if c.Password == "" {
		c.Password = "guest"
	}
	if c.VHost == "" {
		c.VHost = "/"
	}
	if c.ChannelMax == 0 {
		c.ChannelMax = 2047
	}
	if c.FrameMax == 0 {
		c.FrameMax = 131072
	}
	if c.FrameMax < minFrameMax {
		c.FrameMax = minFrameMax
	}
	if c.Product == "" {
		c.Product = "nullbroker"
	}
	if c.Version == "" {
		c.Version = "0.1"
	}
	return c
}

// Timeouts the broker applies to its peers.
const (
	// handshakeTimeout bounds the connection handshake, as RabbitMQ's
	// handshake_timeout does.
	handshakeTimeout = 10 * time.Second
	// closeOkTimeout is how long the broker waits for connection.close-ok
	// after sending connection.close before dropping the socket.
	closeOkTimeout = 3 * time.Second
	// flushTimeout bounds the final flush of a connection being closed, so a
	// client that stopped reading cannot keep its writer alive.
	flushTimeout = 5 * time.Second
)

// Server is a running in-process broker. All broker state (exchanges,
// queues, bindings, channels, consumers, unacknowledged deliveries) lives
// under one mutex; every connection has a reader goroutine that handles
// frames under that mutex and a writer goroutine that drains the
// connection's outgoing buffer, so handling a frame never waits on a socket.
type Server struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup // every goroutine the server starts

	// frozen and freeze implement Freeze: readers and writers wait on the
	// gate while it is shut.
	frozen atomic.Bool
	freeze *gate
	// unblocked is shut while the server is blocked; a connection that
	// publishes then stops being read until Unblock, as with RabbitMQ.
	unblocked *gate

	mu          sync.Mutex // guards the fields below and all broker state
	closed      bool
	conns       map[*conn]struct{} // connections whose writer has not ended
	exchanges   map[string]*exchange
	queues      map[string]*queue
	replyTo     map[string]*consumer // direct reply-to consumers by token
	blocked     bool
	blockReason string
	stats       Stats
	// loseConfirms and confirmsLost implement LoseConfirms.
	loseConfirms int
	confirmsLost chan struct{}
	// changed is made by Changed and closed (then set to nil) by unlock,
	// at the end of every change of broker state.
	changed chan struct{}
}

// Start starts a broker listening on an ephemeral port of 127.0.0.1.
func Start(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("nullbroker: listen: %w", err)
	}
	s := &Server{
		cfg:       cfg.withDefaults(),
		ln:        ln,
		freeze:    newGate(),
		unblocked: newGate(),
		conns:     make(map[*conn]struct{}),
		exchanges: make(map[string]*exchange),
		queues:    make(map[string]*queue),
		replyTo:   make(map[string]*consumer),
	}
	s.declareBuiltinExchanges()
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr returns the listening address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns an AMQP URL with the configured credentials and vhost, such
// as "amqp://guest:guest@127.0.0.1:PORT/".
func (s *Server) URL() string {
	u := "amqp://" + url.UserPassword(s.cfg.User, s.cfg.Password).String() + "@" + s.Addr() + "/"
	if s.cfg.VHost != "/" {
		u += url.PathEscape(s.cfg.VHost)
	}
	return u
}

// acceptLoop accepts connections until the listener is closed.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE; try again
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.unlock()
			nc.Close()
			return
		}
		c := newConn(s, nc)
		s.conns[c] = struct{}{}
		s.stats.Connections++
		s.stats.ConnectionsTotal++
		s.wg.Add(2)
		s.unlock()
		go c.readLoop()
		go c.writeLoop()
	}
}

// Changed returns a channel that is closed at the next change of the
// broker's state: a frame handled (a declaration, a publish routed, a
// delivery, an ack, a channel or connection opened or closed), a
// connection accepted or released, or a test control. A test waits on it
// and re-reads Stats, Queues or Bindings instead of polling them. Take the
// channel before reading the state, so a change in between is not missed.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// unlock releases s.mu after a change of broker state and wakes the
// waiters of Changed. Readers that changed nothing use s.mu.Unlock.
func (s *Server) unlock() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	s.mu.Unlock()
}

// connList returns the current connections. Callers hold s.mu.
func (s *Server) connList() []*conn {
	list := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		list = append(list, c)
	}
	return list
}

// Close stops the listener, drops every connection and waits for all of
// the server's goroutines to finish. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	conns := s.connList()
	s.unlock()
	var err error
	if !already {
		err = s.ln.Close()
	}
	for _, c := range conns {
		c.abort()
	}
	s.wg.Wait()
	return err
}

// Kill drops every connection abruptly, without connection.close, as a
// crashed broker or a broken network would. The server keeps listening.
func (s *Server) Kill() {
	s.mu.Lock()
	conns := s.connList()
	s.unlock()
	for _, c := range conns {
		c.abort()
	}
}

// CloseConnections sends connection.close with the given reply code and
// reply text (used as given; RabbitMQ's read like "CONNECTION_FORCED -
// broker forced connection closure with reason 'shutdown'") to every open
// connection, as RabbitMQ does on shutdown (320 CONNECTION_FORCED) or when
// an operator closes a connection. Each connection is dropped once the
// client answers close-ok, or after a few seconds. Connections still in
// their handshake are dropped at once.
func (s *Server) CloseConnections(code int, reason string) {
	s.mu.Lock()
	defer s.unlock()
	for _, c := range s.connList() {
		if !c.opened {
			c.abort()
			continue
		}
		c.closeWith(&amqpError{code: code, text: reason})
	}
}

// Block sends connection.blocked with reason to every connection whose
// client advertised the connection.blocked capability, and to each new one
// while blocked, as RabbitMQ does on a resource alarm. Like RabbitMQ, the
// broker then stops reading from a connection once it publishes, until
// Unblock.
func (s *Server) Block(reason string) {
	s.mu.Lock()
	defer s.unlock()
	if s.blocked {
		return
	}
	s.blocked, s.blockReason = true, reason
	s.unblocked.shut()
	for c := range s.conns {
		c.notifyBlocked()
	}
}

// Unblock sends connection.unblocked to the connections told they were
// blocked and lets blocked publishers continue.
func (s *Server) Unblock() {
	s.mu.Lock()
	defer s.unlock()
	if !s.blocked {
		return
	}
	s.blocked = false
	s.unblocked.open()
	for c := range s.conns {
		c.notifyUnblocked()
	}
}

// LoseConfirms makes the broker route each of the next n messages
// published on a channel in confirm mode and then, instead of confirming
// it, close its connection with 320 CONNECTION_FORCED, as a RabbitMQ node
// stopped (rabbitmqctl stop) between routing a message and its confirm
// does: the publisher cannot know the message was routed. The returned
// chan is closed once the n-th was. A later call replaces the count (the
// chan of the earlier one is then closed at once).
func (s *Server) LoseConfirms(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.unlock()
	if s.confirmsLost != nil {
		close(s.confirmsLost)
	}
	lost := make(chan struct{})
	s.loseConfirms, s.confirmsLost = n, lost
	if n <= 0 {
		close(lost)
		s.loseConfirms, s.confirmsLost = 0, nil
	}
	return lost
}

// loseConfirm reports whether the confirm of a message just routed is to be
// lost (LoseConfirms), counting it. Callers hold s.mu.
func (s *Server) loseConfirm() bool {
	if s.loseConfirms == 0 {
		return false
	}
	if s.loseConfirms--; s.loseConfirms == 0 {
		close(s.confirmsLost)
		s.confirmsLost = nil
	}
	return true
}

// Freeze stops reading from and writing to every connection; the sockets
// stay open, so clients see a broker that hangs. Server heartbeats stop
// too, and the broker does not drop silent clients while frozen.
func (s *Server) Freeze() {
	s.frozen.Store(true)
	s.freeze.shut()
}

// Thaw undoes Freeze.
func (s *Server) Thaw() {
	s.freeze.open()
	s.frozen.Store(false)
}

// gate is a barrier goroutines wait at while it is shut.
type gate struct {
	mu sync.Mutex
	ch atomic.Pointer[chan struct{}] // closed while the gate is open
}

func newGate() *gate {
	g := &gate{}
	ch := make(chan struct{})
	close(ch)
	g.ch.Store(&ch)
	return g
}

// shut makes wait block.
func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-*g.ch.Load():
		ch := make(chan struct{})
		g.ch.Store(&ch)
	default: // already shut
	}
}

// open releases waiters.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := *g.ch.Load()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// wait returns true once the gate is open, or false if done is closed first.
func (g *gate) wait(done <-chan struct{}) bool {
	select {
	case <-*g.ch.Load():
		return true
	case <-done:
		return false
	}
}

// serverProperties are advertised in connection.start.
func (s *Server) serverProperties() codec.Table {
	return codec.Table{
		"product":      s.cfg.Product,
		"version":      s.cfg.Version,
		"platform":     "Go",
		"copyright":    "nullbroker, an in-process AMQP 0-9-1 test broker",
		"information":  "not a RabbitMQ node; for tests only",
		"cluster_name": "nullbroker@" + s.Addr(),
		"capabilities": codec.Table{
			"publisher_confirms":           true,
			"exchange_exchange_bindings":   true,
			"basic.nack":                   true,
			"consumer_cancel_notify":       true,
			"connection.blocked":           true,
			"authentication_failure_close": true,
			"per_consumer_qos":             true,
			"direct_reply_to":              true,
		},
	}
}
