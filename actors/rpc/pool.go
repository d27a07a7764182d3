package rpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

// Pool is the RPC worker pool behind Tree.Call: Kazoo's kz_amqp_worker
// pool. Unlike Kazoo's (one call per worker at a time, checked out of
// poolboy), each worker carries many calls at once, told apart by Msg-ID.
// It is safe for concurrent use by multiple goroutines.
type Pool struct {
	env   *actors.Env
	lanes []*workerLane
	next  atomic.Uint64
	cfg   Config // defaults filled in
	zone  string // the zone of the workers' channels; "" the local zone
	pin   Pin    // where the workers take their channels
	name  string // the pool supervisor's name

	mu      sync.Mutex    // guards changed
	changed chan struct{} // closed and replaced when any worker's state changes

	// exchanges checked once per connection: a request to a missing one
	// fails at once with the broker's reason instead of closing the
	// worker's channel and waiting out the call's timeout.
	exchanges actors.ExchangeCache
}

// NewPool makes the worker pool of cfg; Config.Validate's errors fail it.
func NewPool(env *actors.Env, cfg Config) (*Pool, error) {
	return NewZonePool(env, cfg, "", actors.WorkersName)
}

// NewZonePool is NewPool for the workers of zone ("" the local zone)
// under the pool supervisor name ("warren/<name>/<name>-N").
func NewZonePool(env *actors.Env, cfg Config, zone, name string) (*Pool, error) {
	return NewPinnedPool(env, cfg, Pin{Zone: zone}, name)
}

// Pin says where a pool's workers take their channels: floats of Zone
// ("" the local zone), or, with Broker or Tag, stickies on that broker (a
// broker id, as in the connections table's Broker column; Kazoo's
// add_amqp_pool pinned to a broker) or on a broker of the zone with that
// tag (actors.RequestChannel.Tag). A pinned worker waits while its broker
// is down instead of moving to another.
type Pin struct {
	Zone   string
	Broker string
	Tag    string
}

// channelRequest is what a worker pinned by p asks the assignments actor
// for.
func (p Pin) channelRequest(consumer *actor.PID) *actors.RequestChannel {
	req := &actors.RequestChannel{Consumer: consumer, App: "warren-rpc", Role: registry.Publish, Zone: p.Zone, CanMove: true}
	if p.Broker != "" || p.Tag != "" {
		req.Type, req.Broker, req.Tag, req.CanMove = registry.Sticky, p.Broker, p.Tag, false
	}
	return req
}

// NewPinnedPool is NewPool for workers pinned by pin, under the pool
// supervisor name ("warren/<name>/<name>-N"): the pools added at run time
// (supervisor.Tree.AddPool).
func NewPinnedPool(env *actors.Env, cfg Config, pin Pin, name string) (*Pool, error) {
	zone := pin.Zone
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("warren: rpc: %w", err)
	}
	cfg = cfg.withDefaults()
	w := &Pool{env: env, cfg: cfg, zone: zone, pin: pin, name: name, changed: make(chan struct{})}
	w.exchanges.SetEnv(env)
	for i := range cfg.Workers {
		l := newWorkerLane(name + "-" + strconv.Itoa(i+1))
		l.onChange = w.notify
		// The worker's counters reach its row within actors.FlushEvery of a change.
		self := env.System.NewLocalPID(actors.RootName + "/" + name + "/" + l.name)
		l.touch = func() { l.flush.Touch(env, self) }
		w.lanes = append(w.lanes, l)
	}
	return w, nil
}

// Config returns the pool's config, defaults filled in.
func (w *Pool) Config() Config { return w.cfg }

// Size is the number of workers.
func (w *Pool) Size() int { return len(w.lanes) }

// Props returns the props of worker i (1-based), for the pool supervisor.
func (w *Pool) Props(i int) *actor.Props {
	return newWorkerProps(w.env, w.lanes[i-1], w.cfg.Node, w.pin, w.name)
}

// Call publishes req, mandatory, and returns the first reply carrying its
// Msg-ID that req.Validate accepts (Kazoo's kz_amqp_worker:call), or
// ErrCallTimeout when none came before ctx's deadline (DefaultCallTimeout
// when ctx has none). A valid reply with Defer-Response: true is held: a
// valid one without it that comes before the deadline wins, else the held
// one is returned then. Replies req.Validate refuses are counted: at
// req.NegativeThreshold (Config.NegativeThreshold) the call fails with a
// [*NegativeError], as it does at its deadline after fewer (then also
// matching ErrCallTimeout) – unless a deferred reply is held, which is
// returned. A request no queue takes fails at once with ErrUnroutable.
func (w *Pool) Call(ctx context.Context, req Request) (kazoo.Envelope, error) {
	replies, err := w.collect(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	return replies[0], nil
}

// CallCollect publishes req, mandatory, and gathers replies (those
// req.Validate accepts) until until says enough, or ctx's deadline; then it
// returns what it gathered with ErrCallTimeout (Kazoo's {timeout, Resps}).
// A request no queue takes fails at once with ErrUnroutable.
func (w *Pool) CallCollect(ctx context.Context, req Request, until Until) ([]kazoo.Envelope, error) {
	if until == nil {
		until = UntilCount(1)
	}
	return w.collect(ctx, req, until)
}

// first is the Until of Call.
var first = UntilCount(1)

func (w *Pool) collect(ctx context.Context, req Request, until Until) ([]kazoo.Envelope, error) {
	if tr := w.env.Tracer; tr != nil {
		return w.collectTraced(tr, ctx, req, until)
	}
	return w.observed(ctx, req, until)
}

// observed is collect, timed for the tree's metrics.
func (w *Pool) observed(ctx context.Context, req Request, until Until) ([]kazoo.Envelope, error) {
	o := w.env.Observe
	if o == nil || o.Call == nil {
		return w.collectReplies(ctx, req, until)
	}
	start := time.Now()
	replies, err := w.collectReplies(ctx, req, until)
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ErrCallTimeout):
		outcome = "timeout"
	default:
		outcome = "error"
	}
	o.Call(w.zone, time.Since(start), outcome)
	return replies, err
}

// unroutable is the error of a request the broker returned.
func unroutable(exchange, key string, r *amqp.Return) error {
	if exchange == "" {
		return fmt.Errorf("%w: no queue %q (%d %s)", ErrUnroutable, key, r.ReplyCode, r.ReplyText)
	}
	return fmt.Errorf("%w: no queue is bound to exchange %q with routing key %q (%d %s)", ErrUnroutable, exchange, key, r.ReplyCode, r.ReplyText)
}

// checkExchange fails at once, with the broker's reason, for an exchange
// missing on st's broker (checked once per connection) rather than let a
// publish or bind to it close the worker's channel.
func (w *Pool) checkExchange(ctx context.Context, st *workerState, exchange string) error {
	if w.exchanges.Known(st.link, st.broker, exchange) {
		return nil
	}
	return w.exchanges.Check(ctx, st.link, st.broker, exchange)
}

// bind adds a call's bindings (Request.Bind) to st's reply queue; on a
// failure it releases those it added.
func (w *Pool) bind(ctx context.Context, st *workerState, binds []Binding) error {
	for i, b := range binds {
		var err error
		if b.Exchange == "" { // the broker would close the worker's channel (403)
			err = errors.New("the default exchange takes no bindings")
		} else {
			err = w.checkExchange(ctx, st, b.Exchange)
		}
		if err == nil {
			err = st.binds.acquire(ctx, b)
		}
		if err != nil {
			for _, done := range binds[:i] {
				st.binds.release(w.env, w.env.Log, done)
			}
			return fmt.Errorf("exchange %q, routing key %q: %w", b.Exchange, b.RoutingKey, err)
		}
	}
	return nil
}

func (w *Pool) notify() {
	w.mu.Lock()
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// lane picks a ready worker, round-robin, waiting (bounded by ctx) until one
// is.
func (w *Pool) lane(ctx context.Context) (*workerLane, *workerState, error) {
	for {
		w.mu.Lock()
		wait := w.changed
		w.mu.Unlock()
		start := w.next.Add(1)
		stopped := 0
		for i := range w.lanes {
			l := w.lanes[(int(start)+i)%len(w.lanes)]
			if st, _ := l.ready(); st != nil && st.calls.enter() {
				return l, st, nil
			}
			if l.state.Load().stopped {
				stopped++
			}
		}
		if stopped == len(w.lanes) { // one stopped worker (a pool restart) is not the end
			return nil, nil, ErrStopped
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("no worker ready: %w", ctx.Err())
		}
	}
}

// Stats sums the pool's counters.
func (w *Pool) Stats() registry.RPCWorker {
	var s registry.RPCWorker
	for _, l := range w.lanes {
		s.Busy += l.busy.Load()
		s.Calls += l.calls.Load()
		s.Replies += l.replies.Load()
		s.Timeouts += l.timeouts.Load()
		s.Late += l.late.Load()
		s.Errors += l.errors.Load()
	}
	return s
}
