package actors

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// session is one live AMQP connection with its control channel. It is built
// by dial in a goroutine and then owned by the connection actor; its methods
// that touch the network are called from goroutines only.
type session struct {
	conn   *amqp.Connection
	link   *Link              // the socket under conn, which Warren closes when amqp091 cannot
	stop   chan struct{}      // closed by close: ends the link's watchdog
	closes chan *amqp.Error   // conn.NotifyClose, buffered
	blocks chan amqp.Blocking // conn.NotifyBlocked, buffered

	stopOnce sync.Once
	ctrlMu   sync.Mutex // guards ctrl; serialises control-channel commands
	ctrl     *amqp.Channel

	prechannels []*openedChannel
	refused     []string        // exchanges and bindings the broker refused to declare, with its reason
	declared    map[string]bool // the recorded topology entries the dial declared, by id
	exchanges   *ExchangeSet    // the exchanges the dial declared, handed with every channel
}

var channelSeq atomic.Uint64

// setupCloseTimeout bounds the close of a connection whose setup failed.
const setupCloseTimeout = 2 * time.Second

// dial opens the connection, its control channel, declares the exchanges
// and then the bindings (each the spec's, then those of the recorded topo)
// and opens the prechannels. It runs in a goroutine. A failed dial says how far
// it got: the TCP connect, the handshakes on a TCP connection that was
// made, or the setup of an open AMQP connection.
func dial(spec BrokerSpec, plan dialPlan, slot *dialSlot, topo []registry.TopologyEntry) (*session, dialStage, error) {
	cfg := plan.config
	if cfg.TLSClientConfig != nil {
		cfg.TLSClientConfig = cfg.TLSClientConfig.Clone() // amqp091 writes ServerName into it
	}
	if cfg.Properties != nil {
		props := amqp.Table{}
		for k, v := range cfg.Properties {
			props[k] = v
		}
		cfg.Properties = props
	}
	link, wrapped := newLink(cfg.Dial)
	// Every frame is read through the link's filter: a delivery whose
	// headers amqp091 cannot read costs that delivery, not the connection.
	wrapped, uri, err := link.filteredDial(wrapped, plan.uri, &cfg)
	if err != nil { // before any socket: nothing listened to it
		return nil, stageConnect, &BrokerError{Broker: spec.ID, Op: "dial", Err: err}
	}
	cfg.Dial = wrapped
	slot.watch(link) // a stop during the handshake aborts it
	conn, err := amqp.DialConfig(uri, cfg)
	if err != nil {
		stage := stageConnect
		if link.connected() {
			stage = stageHandshake
		}
		link.Abort() // amqp091 closes it too since v1.17; a dial never leaves a socket behind
		return nil, stage, &BrokerError{Broker: spec.ID, Op: "dial", Err: err}
	}
	s := &session{
		conn:      conn,
		link:      link,
		exchanges: &ExchangeSet{},
		stop:      make(chan struct{}),
		closes:    conn.NotifyClose(make(chan *amqp.Error, 1)),
		blocks:    conn.NotifyBlocked(make(chan amqp.Blocking, 4)),
	}
	go link.watchdog(writeStallLimit(conn.Config.Heartbeat), s.stop)
	if s.ctrl, err = conn.Channel(); err != nil {
		s.close(setupCloseTimeout)
		return nil, stageSetup, &BrokerError{Broker: spec.ID, Op: "open control channel", Err: err}
	}
	// Every exchange before any binding (a binding needs both its
	// exchanges): the configured ones, then those recorded at run time.
	steps := make([]TopologyChange, 0, len(spec.Exchanges)+len(spec.Bindings)+len(topo))
	for _, x := range spec.Exchanges {
		steps = append(steps, TopologyChange{Op: TopoDeclare, Exchange: x})
	}
	s.declared = make(map[string]bool, len(topo))
	for _, e := range topo {
		if e.Exchange != nil {
			steps = append(steps, changeOf(e))
			s.declared[e.ID] = true
		}
	}
	steps = append(steps, bindingChanges(spec.Bindings)...)
	for _, e := range topo {
		if e.Binding != nil {
			steps = append(steps, changeOf(e))
			s.declared[e.ID] = true
		}
	}
	for _, step := range steps {
		err := s.control(step.run)
		var ae *amqp.Error
		switch {
		case err == nil:
			s.exchanges.applied(step)
		case errors.As(err, &ae) && ae.Recover:
			// A channel exception (406: another client declared it with other
			// flags, 403, 404 for a binding to a missing exchange): that
			// exchange or binding is unusable, the connection is not.
			// control reopens the channel for the next one.
			s.refused = append(s.refused, step.refusal()+": "+redact.Error(err))
		default:
			s.close(setupCloseTimeout)
			return nil, stageSetup, &BrokerError{Broker: spec.ID, Op: step.String(), Err: err}
		}
	}
	if spec.Prechannels > 0 {
		// A channel_max below the prechannel count is not a reason to refuse
		// the connection: keep what could be opened.
		s.prechannels, err = s.open(spec, spec.Prechannels)
		if err != nil && !errors.Is(err, ErrNoChannelLeft) {
			s.close(setupCloseTimeout)
			return nil, stageSetup, err
		}
	}
	return s, stageSetup, nil
}

func declareExchange(ch *amqp.Channel, x Exchange) error {
	return ch.ExchangeDeclare(x.Name, x.Kind, x.Durable, x.AutoDelete, x.Internal, false, amqp.Table(x.Args))
}

// open opens n channels, a few at a time, and returns them all. Each
// channel's NotifyClose is registered at once so that no close reason is
// lost. On error it returns the channels opened so far with the error.
func (s *session) open(spec BrokerSpec, n int) ([]*openedChannel, error) {
	var (
		mu    sync.Mutex
		out   = make([]*openedChannel, 0, n)
		first error
	)
	s.stream(spec, n, func(chans []*openedChannel, _ int, err error) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, chans...)
		if err != nil && first == nil {
			first = err
		}
	})
	return out, first
}

// streamOpeners bounds the channel.open round trips one stream has in
// flight. After a broker's restart every listener of the broker asks at
// once; with 8 a busy broker's round trip paced the recovery (5,000
// listeners: about 700 channels a second, 1.30–1.44 of raw amqp091, which
// opens them all at once); 64 keeps the broker fed (1.02–1.12) and 256 did
// no better (1.46: the opens crowded out the listeners' declares).
const streamOpeners = 64

// stream opens n channels with up to streamOpeners goroutines and hands
// each to emit as soon as it is open, so that its consumer can start
// declaring while the others are still opening. emit accounts for every
// channel asked for: once per opened channel (asked 1), and once at the end
// with the count that could not be opened and the first error. emit is
// called from several goroutines.
func (s *session) stream(spec BrokerSpec, n int, emit func(chans []*openedChannel, asked int, err error)) {
	workers := min(n, streamOpeners)
	var (
		mu     sync.Mutex
		first  error
		opened atomic.Int64
		wg     sync.WaitGroup
		left   atomic.Int64
	)
	left.Store(int64(n))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				ch, err := s.conn.Channel()
				if err != nil {
					left.Store(0) // the others stop after the channel they are opening
					mu.Lock()
					if first == nil {
						first = wrapOpenErr(spec.ID, err, int(s.conn.Config.ChannelMax))
					}
					mu.Unlock()
					return
				}
				opened.Add(1)
				emit([]*openedChannel{{
					id:     spec.ID + "#" + itoa(int(channelSeq.Add(1))),
					broker: spec.ID, zone: spec.Zone, ch: ch, link: s.link, exchanges: s.exchanges,
					closed: ch.NotifyClose(make(chan *amqp.Error, 1)),
				}}, 1, nil)
			}
		}()
	}
	wg.Wait()
	// Counted as n less what opened: the failures' own count of what was
	// left raced with the workers still taking from it, and fell short of n
	// (the assignments actor then waited for channels that never came).
	if failed := n - int(opened.Load()); failed > 0 {
		emit(nil, failed, first)
	}
}

// control runs fn on the control channel, reopening it first if a previous
// command closed it (a 404 or 406 closes the channel, not the connection).
func (s *session) control(fn func(*amqp.Channel) error) error {
	s.ctrlMu.Lock()
	defer s.ctrlMu.Unlock()
	if s.ctrl == nil || s.ctrl.IsClosed() {
		ch, err := s.conn.Channel()
		if err != nil {
			return err
		}
		s.ctrl = ch
	}
	return fn(s.ctrl)
}

// close closes the connection, bounded by timeout: past it (a dead link,
// a writer stuck on the socket that amqp091's shutdown waits for) the
// socket is closed under amqp091, which ends its reader, heartbeater and
// writer. It returns once amqp091's Close did.
func (s *session) close(timeout time.Duration) {
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() {
		_ = s.conn.Close()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	s.link.Abort()
	<-done
}

// writeStallLimit is how long a write may make no progress before the
// socket is aborted: the heartbeat interval, as a link whose writes stall
// that long has lost its heartbeats too.
func writeStallLimit(heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		return DefaultHeartbeat
	}
	return heartbeat
}

// serverInfo reads product and version from the server properties.
func (s *session) serverInfo() (product, version string) {
	if p, ok := s.conn.Properties["product"].(string); ok {
		product = p
	}
	if v, ok := s.conn.Properties["version"].(string); ok {
		version = v
	}
	return product, version
}
