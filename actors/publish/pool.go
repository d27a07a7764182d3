package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/redact"
	"go.opentelemetry.io/otel/trace"
)

// Pool is the publishing side of a tree: a pool of publisher actors,
// each holding a channel in confirm mode (for confirmed publishes) and a
// plain one (for fire-and-forget publishes), and the lanes through which
// callers publish on those channels from their own goroutines: no publish
// goes through a mailbox or a future. It is safe for concurrent use by
// multiple goroutines.
//
// # Publishing
//
// [Pool.Publish] takes the first lane whose channel no other
// goroutine is writing on (see acquire), writes the message on it and,
// with [Confirm], waits for the broker's ack. Many confirmed publishes are
// in flight on one channel at once. While no lane is usable (no broker up,
// or the broker blocked publishing) a publish waits, bounded by the buffer,
// MaxWait and its ctx, and goes out once a channel comes back.
type Pool struct {
	cfg   Config // defaults filled in
	lanes []*publisherLane
	next  atomic.Uint32
	wait  atomic.Int64 // publishes waiting for a usable lane

	changeMu sync.Mutex                    // serialises notify and tick
	changed  atomic.Pointer[chan struct{}] // closed when any lane's state changes
	env      atomic.Pointer[actors.Env]    // the tree's: given by SetEnv when the tree makes the pool, or by Props
	clock    atomic.Pointer[chan struct{}] // closed by every tick

	idPrefix string
	idSeq    atomic.Uint64

	// busy counts the publishes in progress (see WaitIdle); idleWaiters
	// the WaitIdle calls, so that a publish takes idleMu only when one
	// waits; idle is closed (and cleared) under idleMu when busy drops to
	// zero.
	busy        atomic.Int64
	idleWaiters atomic.Int32
	idleMu      sync.Mutex
	idle        chan struct{}

	exchanges actors.ExchangeCache // exchanges known to exist, per connection

	// limit is the largest body a publish may carry (MaxMessageSize, or the
	// broker's once a 406 named it: learned); good the largest the broker
	// acked, at least probeFloor (see size.go).
	limit   atomic.Int64
	good    atomic.Int64
	learned atomic.Bool

	stop     chan struct{} // closed by Stop: every wait of a publish ends
	stopOnce sync.Once
}

// NewPool returns the lanes of a publishers pool of cfg; its actors
// are started from [Pool.Props].
func NewPool(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("warren: publishers: %w", err)
	}
	if cfg.Publishers < 0 {
		return nil, fmt.Errorf("warren: publishers: %d publishers: a pool needs one at least (a tree runs none)", cfg.Publishers)
	}
	cfg = cfg.withDefaults()
	var seed [6]byte
	_, _ = rand.Read(seed[:])
	p := &Pool{cfg: cfg, idPrefix: "warren-" + hex.EncodeToString(seed[:]) + "-", stop: make(chan struct{})}
	p.limit.Store(int64(cfg.MaxMessageSize))
	p.good.Store(int64(min(probeFloor, cfg.MaxMessageSize)))
	changed, clock := make(chan struct{}), make(chan struct{})
	p.changed.Store(&changed)
	p.clock.Store(&clock)
	for range cfg.Publishers {
		p.lanes = append(p.lanes, newPublisherLane(p))
	}
	return p, nil
}

// Config returns the pool's config, defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// Stop ends the pool's service: every publish waiting (for a channel, for
// a channel another publish writes on, for its confirm) fails with
// ErrStopped (a confirmed one with ErrNotConfirmed wrapping it), and so
// does every later one. The tree stops its pools once it has stopped.
// Calling it again does nothing.
func (p *Pool) Stop() { p.stopOnce.Do(func() { close(p.stop) }) }

// stopped reports whether Stop was called.
func (p *Pool) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// notify wakes every publish waiting for a lane to change.
func (p *Pool) notify() {
	ch := make(chan struct{})
	p.changeMu.Lock()
	old := p.changed.Swap(&ch)
	close(*old)
	p.changeMu.Unlock()
}

// IsDirectReplyTo reports whether key, a reply-to, names a RabbitMQ direct
// reply-to pseudo-queue (amq.rabbitmq.reply-to.…). RabbitMQ 3.10 returns a
// mandatory publish to one even while its requester is there (and delivers
// it), so replies to it go out without mandatory: a gone requester's reply
// is dropped untold.
func IsDirectReplyTo(key string) bool { return strings.HasPrefix(key, "amq.rabbitmq.reply-to.") }

// PublishReply publishes a listener's reply, mandatory and confirmed: it
// implements [actors.ReplyPublisher], so that replies wait out a reconnect
// in the buffer, and a reply no queue takes (its requester's reply queue is
// gone) fails with a [*ReturnedError] instead of vanishing. It costs the
// replying handler one confirm round trip. A reply to a direct reply-to
// ([IsDirectReplyTo]) is not mandatory: RabbitMQ 3.10 returns such a
// mandatory publish even to a live requester (and delivers it).
func (p *Pool) PublishReply(ctx context.Context, exchange, routingKey string, body []byte, correlationID, contentType string) error {
	if exchange == "" && IsDirectReplyTo(routingKey) {
		return p.Publish(ctx, exchange, routingKey, body, CorrelationID(correlationID), ContentType(contentType), Confirm())
	}
	return p.Publish(ctx, exchange, routingKey, body, CorrelationID(correlationID), ContentType(contentType), Confirm(), Mandatory())
}

// Publish publishes body to exchange with routingKey. Without [Confirm] it
// returns once the message is written to a channel; with it, once the
// broker acked it: a publish whose channel closes before the ack is written
// again on another channel (see [Confirm]) until it is acked, its ctx ends,
// the pool's ConfirmTimeout (from the first write) passes or the pool is
// stopped. It waits for a usable channel at most the pool's MaxWait
// (and within ctx), and fails at once with ErrBufferFull when too many
// publishes wait already. It fails with ErrStopped once [Pool.Stop] was
// called. Errors are *Error wrapping the sentinels of
// this package. Only publishes sharing an [OrderKey] keep their order.
//
// A fire-and-forget publish whose body is larger than any the broker
// acked so far (and than 16 KiB) is written confirmed and waits for the
// broker's confirm: should it be over the broker's max_message_size, it
// alone fails, with ErrTooLarge naming the broker's limit, which the pool
// applies to later publishes from then on (see size.go).
func (p *Pool) Publish(ctx context.Context, exchange, routingKey string, body []byte, opts ...Option) error {
	r := getRequest()
	defer putRequest(r)
	r.confirm = p.cfg.ServerConfirms // before request: a confirmed publish gets its MessageId there
	if err := p.request(r, exchange, routingKey, body, opts); err != nil {
		return err
	}
	span := p.startSpan(ctx, r, exchange, routingKey) // nil with tracing off
	p.begin()
	defer p.end()
	w, err := p.write(ctx, exchange, routingKey, r)
	if err == nil && r.confirm {
		err = p.await(ctx, w, r, exchange, routingKey, time.Time{})
		if r.probe && err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUserRefused) {
			err = nil // written, as a fire-and-forget publish asks; only a size or user id the broker refuses fails it
		}
	}
	p.endSpan(span, w, err)
	if err != nil {
		return &Error{Exchange: exchange, RoutingKey: routingKey, Err: err}
	}
	return nil
}

// PublishDeferred writes a confirmed publish and returns without waiting
// for the broker's confirm: [Pending.Wait] waits for it. Keeping many
// publishes in flight from one goroutine this way (a window of Pending) is
// how a single producer pipelines, as with amqp091's deferred
// confirmations. It waits for a channel and fails as Publish does; the
// options are Publish's, [Confirm] implied, except [Mandatory] (a returned
// message is reported by a Publish that waits: use Publish(…, Confirm(),
// Mandatory())).
//
// The Pending keeps the message to write it again should its channel close
// before the ack: body must not be modified until Wait returned. The
// publish counts as in progress ([Pool.WaitIdle]) until then.
func (p *Pool) PublishDeferred(ctx context.Context, exchange, routingKey string, body []byte, opts ...Option) (*Pending, error) {
	r := getRequest() // the Pending's until its Wait returned: putRequest there
	r.confirm = true  // before request: it gives the publish its MessageId
	if err := p.request(r, exchange, routingKey, body, opts); err != nil {
		putRequest(r)
		return nil, err
	}
	if r.mandatory {
		putRequest(r)
		return nil, &Error{Exchange: exchange, RoutingKey: routingKey, Err: errDeferredMandatory}
	}
	span := p.startSpan(ctx, r, exchange, routingKey) // nil with tracing off; ended by Wait
	p.begin()
	w, err := p.write(ctx, exchange, routingKey, r)
	if err != nil {
		putRequest(r)
		p.endSpan(span, w, err)
		p.end()
		return nil, &Error{Exchange: exchange, RoutingKey: routingKey, Err: err}
	}
	return &Pending{pool: p, w: w, req: r, exchange: exchange, routingKey: routingKey, written: time.Now(), span: span}, nil
}

var errDeferredMandatory = errors.New("warren: PublishDeferred takes no Mandatory option: a returned message is reported by Publish(…, Confirm(), Mandatory())")

// Pending is a confirmed publish written by [Pool.PublishDeferred] whose
// broker confirm [Pending.Wait] waits for. A Pending is used by one
// goroutine. It holds the message (its body too) until Wait returned, to
// write it again if its channel closes before the ack.
type Pending struct {
	pool                 *Pool
	w                    written
	req                  *publishRequest // the message, for a resend; back to the pool (nil) once Wait returned
	exchange, routingKey string
	written              time.Time
	span                 trace.Span // the publish span, nil with tracing off
	done                 bool
	err                  error
}

// Done is closed once the broker acked or nacked the first write of the
// publish, or its channel closed; Wait then returns at once, unless the
// channel closed: Wait writes the message again.
func (pd *Pending) Done() <-chan struct{} { return pd.w.dc.Done() }

// Wait waits for the broker's confirm: nil once it acked the message, an
// *Error otherwise — nacked, or no confirm within ctx, the pool's
// ConfirmTimeout (counted from the first write) or the pool's Stop. A message whose
// channel closed before the ack is written again on another channel, as
// Publish does, and Wait waits for that confirm. A Wait that gave up (its
// ctx ended) leaves the publish unconfirmed: once Wait returned, it returns
// the same again.
func (pd *Pending) Wait(ctx context.Context) error {
	if pd.done {
		return pd.err
	}
	err := pd.pool.await(ctx, pd.w, pd.req, pd.exchange, pd.routingKey, pd.written)
	if err != nil {
		err = &Error{Exchange: pd.exchange, RoutingKey: pd.routingKey, Err: err}
	}
	pd.pool.endSpan(pd.span, pd.w, err)
	pd.done, pd.err = true, err
	putRequest(pd.req) // the caller may reuse the body now
	pd.req = nil
	pd.pool.end()
	return err
}

// request shapes r, a publish, from its options.
func (p *Pool) request(r *publishRequest, exchange, routingKey string, body []byte, opts []Option) error {
	// r.msg is zero (getRequest): set what differs, not the whole struct again.
	r.msg.ContentType, r.msg.Body = DefaultContentType, body
	for _, opt := range opts {
		if opt == nil {
			return errNilOption
		}
		if err := opt(r); err != nil {
			return err
		}
	}
	if !r.stamped {
		r.msg.Timestamp = time.Now() // Kazoo's basic_publish stamps every publish
	}
	if r.msg.ContentEncoding != "" && !r.encoded && kazoo.IsGzip(r.msg.ContentEncoding) {
		r.msg.Body = kazoo.Gzip(body) // as Kazoo's basic_publish does given content_encoding gzip
	}
	if n := len(r.msg.Body); n > p.maxSize() {
		return &Error{Exchange: exchange, RoutingKey: routingKey, Err: p.tooLarge(n)}
	}
	if !r.confirm && (p.probes(len(r.msg.Body)) || r.msg.UserId != "") {
		r.confirm, r.probe = true, true // larger than any body acked so far (see size.go), or a user id (user_id.go)
	}
	if (r.mandatory || r.confirm) && r.msg.MessageId == "" {
		r.msg.MessageId = p.newID()
	}
	return nil
}

// newID returns a MessageId of the pool's form, warren-<hex>-<seq> (one
// allocation): confirmed and mandatory publishes without one get it, so
// that a resend carries the first write's id and returns find their caller.
func (p *Pool) newID() string {
	var buf [48]byte
	b := append(buf[:0], p.idPrefix...)
	b = strconv.AppendUint(b, p.idSeq.Add(1), 36)
	return string(b)
}

// written is a publish on its channel: the lane and channel state it went
// out on, and its deferred confirmation (nil unless confirm mode).
type written struct {
	l  *publisherLane
	st *laneState
	dc *amqp.DeferredConfirmation
}

// acquire returns a usable channel for r, locked for writing: the first
// lane whose channel is free, so that a lone publisher keeps to one channel
// (the broker handles a stream on one channel faster than one spread over
// several), and publishers that would wait spread over the others; when
// every channel is busy, it waits for the round-robin one. An ordered
// publish takes its own lane's confirm-mode channel or none. It returns nil
// when no lane has a usable channel for r.
//
// Waiting for a busy channel ends with ctx or the pool's Stop (the error is returned):
// a writer stuck on a dead socket holds up nobody past their deadline.
func (p *Pool) acquire(ctx context.Context, r *publishRequest) (*publisherLane, *laneState, error) {
	for {
		l, st, err := p.lockLane(ctx, r)
		if l == nil || err != nil || l.offers(st) {
			return l, st, err
		}
		// The publisher moved off st's channel between the pick and the
		// lock (a broker drain): its drain counts only the publishes of
		// writers that held the lock before it, so none may start there now.
		st.c.unlock()
	}
}

// lockLane picks a lane and locks the channel it offers (see acquire).
func (p *Pool) lockLane(ctx context.Context, r *publishRequest) (*publisherLane, *laneState, error) {
	if r.ordered {
		l := p.lanes[int(r.orderKey%uint32(len(p.lanes)))]
		if st := l.slots[slotConfirm].Load(); st.usable() {
			return l, st, st.c.lock(ctx)
		}
		return nil, nil, nil
	}
	for _, l := range p.lanes {
		if st := l.pick(r.confirm); st != nil && st.c.tryLock() {
			return l, st, nil
		}
	}
	rr := int(p.next.Add(1))
	for i := range p.lanes {
		l := p.lanes[(rr+i)%len(p.lanes)]
		if st := l.pick(r.confirm); st != nil {
			return l, st, st.c.lock(ctx)
		}
	}
	return nil, nil, nil
}

// write writes r on a usable channel, waiting for one as Publish says.
func (p *Pool) write(ctx context.Context, exchange, key string, r *publishRequest) (written, error) {
	if p.stopped() {
		return written{}, ErrStopped
	}
	var w publishWait
	defer w.end(p)
	for {
		wake := *p.changed.Load() // before acquire: a change after it closes wake
		l, st, err := p.acquire(ctx, r)
		if err != nil {
			if w.lane != nil {
				return written{}, w.fail(p, err)
			}
			if errors.Is(err, ErrStopped) {
				return written{}, err
			}
			return written{}, fmt.Errorf("%w: waiting for a channel another publish is writing on: %w", ErrNoChannel, err)
		}
		if l != nil && !p.exchanges.Known(st.c.link, st.broker, exchange) {
			st.c.unlock()
			err := p.exchanges.Check(ctx, st.c.link, st.broker, exchange)
			if err == nil {
				continue // checked: acquire a lane again
			}
			if !errors.Is(err, actors.ErrNotConnected) || ctx.Err() != nil {
				return written{}, err
			}
			// The connection went down under the check: wait for a lane
			// to change, as after a failed write.
			w.lastErr = err
		} else if l != nil {
			wr, retry, err := p.writeOn(ctx, l, st, exchange, key, r)
			if retry == nil {
				if err == nil {
					w.end(p)
				}
				return wr, err
			}
			w.lastErr = retry
		}
		if err := w.begin(p); err != nil {
			return written{}, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return written{}, w.fail(p, ctx.Err())
		case <-w.timer.C:
			return written{}, w.fail(p, nil)
		case <-p.stop:
			return written{}, ErrStopped
		}
	}
}

// writeOn writes r on st's channel of lane l, which acquire locked for
// it; writeOn unlocks it. A nil retry is the publish's outcome: written,
// or err. A non-nil retry is why the write did not happen on a channel
// that closed under it (or a write the broker discards): the message was
// not routed, and the caller waits for the lane to change.
func (p *Pool) writeOn(ctx context.Context, l *publisherLane, st *laneState, exchange, key string, r *publishRequest) (w written, retry, err error) {
	expect := r.confirm && r.mandatory
	if expect {
		l.expect(r.msg.MessageId)
	}
	if r.confirm {
		st.c.outstanding.Add(1) // before the write: a drain of the channel waits for it
	}
	var dc *amqp.DeferredConfirmation
	err = st.c.guard.Guard(ctx, func() (err error) {
		dc, err = st.c.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, r.mandatory, false, r.msg)
		return err
	})
	st.c.unlock()
	if err == nil {
		l.published.Add(1)
		if !r.confirm {
			st.c.plainWrites.Add(1)
			if r.mandatory {
				l.drain(st.c.returns)
			}
		}
		return written{l: l, st: st, dc: dc}, nil, nil
	}
	if expect {
		l.settle(st.c.returns, r.msg.MessageId)
	}
	if r.confirm {
		st.c.confirmEnded()
	}
	if ctx.Err() != nil {
		return written{}, nil, err // the write outlived ctx: Guard names the cause
	}
	if ae := (*amqp.Error)(nil); errors.As(err, &ae) && ae != amqp.ErrClosed {
		return written{}, nil, err // the message itself is bad (a header of an unknown type)
	}
	return written{}, err, nil
}

// tick advances the pool's clock: the publisher actors call it every
// publisherFlushEvery.
func (p *Pool) tick() {
	ch := make(chan struct{})
	p.changeMu.Lock()
	old := p.clock.Swap(&ch)
	close(*old)
	p.changeMu.Unlock()
}

// blocked reports whether a lane holds a channel its broker blocked.
func (p *Pool) blocked() bool {
	for _, l := range p.lanes {
		for i := range l.slots {
			if l.slots[i].Load().blocked {
				return true
			}
		}
	}
	return false
}

// publishWait is the buffered part of one publish: it holds a slot of the
// buffer from the first time no lane was usable until the publish is
// written or gives up. It is counted on a lane chosen round-robin.
type publishWait struct {
	timer   *time.Timer
	started time.Time
	lane    *publisherLane // holding a buffer slot, counted on lane; nil when not
	lastErr error          // the last failed write, named when the wait runs out
}

func (w *publishWait) begin(p *Pool) error {
	if w.timer != nil {
		return nil
	}
	lane := p.lanes[int(p.next.Add(1))%len(p.lanes)]
	if p.wait.Add(1) > int64(p.cfg.Buffer) {
		p.wait.Add(-1)
		lane.dropped.Add(1)
		return fmt.Errorf("%w (%d publishes waiting for a channel)", ErrBufferFull, p.cfg.Buffer)
	}
	lane.buffered.Add(1)
	w.lane, w.started = lane, time.Now()
	w.timer = time.NewTimer(p.cfg.MaxWait)
	return nil
}

// end releases the buffer slot, if held.
func (w *publishWait) end(p *Pool) {
	if w.lane == nil {
		return
	}
	w.timer.Stop()
	p.wait.Add(-1)
	w.lane.buffered.Add(-1)
	w.lane = nil
}

// fail ends a wait that ran out (ctxErr nil: MaxWait passed) and names why.
func (w *publishWait) fail(p *Pool, ctxErr error) error {
	waited := time.Since(w.started).Round(time.Millisecond)
	lane := w.lane
	w.end(p)
	lane.dropped.Add(1)
	why := ErrNoChannel
	if p.blocked() {
		why = ErrBlocked
	}
	last := ""
	if w.lastErr != nil {
		last = " (last write: " + redact.Error(w.lastErr) + ")"
	}
	if ctxErr != nil {
		return fmt.Errorf("%w: gave up after %v%s: %w", why, waited, last, ctxErr)
	}
	return fmt.Errorf("%w: waited the maximum of %v%s", why, p.cfg.MaxWait, last)
}
