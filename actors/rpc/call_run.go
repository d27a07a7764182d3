package rpc

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/tracing"
)

// collectReplies runs one Call (until nil) or CallCollect: the request is
// stamped and encoded, the worker's reply queue bound as req.Bind asks,
// the request published mandatory, and the replies judged until the call
// is done or ctx ends.
func (w *Pool) collectReplies(ctx context.Context, req Request, until Until) ([]kazoo.Envelope, error) {
	if until != nil && until(nil) { // Kazoo's call_collect with a count of 0
		return []kazoo.Envelope{}, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultCallTimeout)
		defer cancel()
	}
	env := req.Envelope.Clone()
	if env == nil {
		env = kazoo.Envelope{}
	}
	if env.MsgID() == "" {
		env.SetMsgID(kazoo.NewMsgID())
	}
	key := kazoo.ReplyMsgID(env)
	lane, st, err := w.lane(ctx)
	if err != nil {
		return nil, &CallError{MsgID: key, Op: "wait for a worker", Err: err}
	}
	defer st.calls.leave()
	body, op, err := w.encode(env, st.queue, req)
	if err != nil {
		return nil, &CallError{MsgID: key, Op: op, Err: err}
	}
	c := w.newCallRun(ctx, req, until, lane, key)
	defer lane.unregister(key)
	if err := w.bind(ctx, st, req.Bind); err != nil {
		lane.errors.Add(1)
		return nil, &CallError{MsgID: key, Op: "bind the reply queue", Err: err}
	}
	defer func() {
		for _, b := range req.Bind {
			st.binds.release(w.env, w.env.Log, b)
		}
	}()
	if err := c.publish(st, body); err != nil {
		return nil, err
	}
	return c.wait()
}

// encode stamps env as a request answered on queue (its Server-ID) with
// the pool's and req's defaults, and encodes it; op names the step that
// failed.
func (w *Pool) encode(env kazoo.Envelope, queue string, req Request) (body []byte, op string, err error) {
	env.SetServerID(queue)
	if err := env.Prepare(w.cfg.RequestDefaults(req.Defaults)); err != nil {
		return nil, "prepare request", err
	}
	if body, err = env.Marshal(); err != nil {
		return nil, "encode request", err
	}
	return body, "", nil
}

// callRun is one call from its publish to its end: where its replies come
// in, the rules it judges them by and what it gathered.
//
// Owner: the calling goroutine.
type callRun struct {
	w       *Pool
	ctx     context.Context
	req     Request
	until   Until      // nil for a Call
	rules   *callRules // a Call's: Kazoo's VFun, negative threshold and Defer-Response
	lane    *workerLane
	replies chan reply
	relay   <-chan kazoo.Envelope // nil without req.Relay
	key, op string
	start   time.Time
	got     []kazoo.Envelope
}

// newCallRun registers key's replies (and relays) on lane; the caller
// unregisters them.
func (w *Pool) newCallRun(ctx context.Context, req Request, until Until, lane *workerLane, key string) *callRun {
	c := &callRun{w: w, ctx: ctx, req: req, until: until, lane: lane, key: key,
		op: "publish to " + req.Exchange + "/" + req.RoutingKey}
	buffer := 64 // replies of a CallCollect that arrive while its caller parses one
	if until == nil {
		threshold := req.NegativeThreshold
		if threshold <= 0 {
			threshold = w.cfg.NegativeThreshold
		}
		c.rules, buffer = &callRules{validate: req.Validate, threshold: threshold}, 4
	}
	c.replies = lane.register(key, buffer)
	if req.Relay != nil {
		c.relay = lane.relayTo(key)
	}
	c.start = time.Now()
	return c
}

// publish sends the request on st's channel, mandatory (an unroutable
// request comes back as basic.return), one write at a time per worker.
func (c *callRun) publish(st *workerState, body []byte) error {
	w, ctx, req, lane := c.w, c.ctx, c.req, c.lane
	pub := amqp.Publishing{ContentType: kazoo.ContentType, CorrelationId: c.key, Body: body, Timestamp: time.Now()} // stamped, as Kazoo stamps every publish
	if req.DirectReply {
		pub.ReplyTo = DirectReplyTo
	}
	if w.env.Tracer != nil {
		pub.Headers = tracing.Inject(ctx, nil) // the call's client span (collectTraced)
		callStarted(ctx, st.broker, w.zone, c.key)
	}
	if err := w.checkExchange(ctx, st, req.Exchange); err != nil {
		lane.errors.Add(1)
		return &CallError{MsgID: c.key, Op: c.op, Err: err}
	}
	select {
	case lane.pub <- struct{}{}:
	case <-ctx.Done():
		lane.timeouts.Add(1)
		lane.touch()
		return &CallError{MsgID: c.key, Op: "wait for the worker's channel", Err: fmt.Errorf("%w: %w", ErrCallTimeout, context.Cause(ctx))}
	}
	err := st.link.Guard(ctx, func() error {
		return st.ch.PublishWithContext(ctx, req.Exchange, req.RoutingKey, true, false, pub)
	})
	<-lane.pub
	if err != nil {
		lane.errors.Add(1)
		return &CallError{MsgID: c.key, Op: c.op, Err: err}
	}
	return nil
}

// wait takes replies until the call is done or its ctx ends.
func (c *callRun) wait() ([]kazoo.Envelope, error) {
	for {
		select {
		case r := <-c.replies:
			if done, err := c.take(r); done {
				return c.got, err
			}
			// What came while replies was full, in order, before the next
			// receive (a malformed reply never crowds out a good one).
			for _, r := range c.lane.overflowOf(c.key) {
				if done, err := c.take(r); done {
					return c.got, err
				}
			}
		case e := <-c.relay:
			c.req.Relay(e)
		case <-c.ctx.Done():
			return c.timedOut()
		}
	}
}

// take handles one reply; done says the call ends with c.got and err.
func (c *callRun) take(r reply) (done bool, err error) {
	lane := c.lane
	if c.w.env.Tracer != nil {
		replyEvent(c.ctx, r)
	}
	if r.returned != nil {
		lane.errors.Add(1)
		lane.touch()
		return true, &CallError{MsgID: c.key, Op: c.op, Err: unroutable(c.req.Exchange, c.req.RoutingKey, r.returned)}
	}
	env := r.env
	if env == nil {
		var err error
		if env, _, err = kazoo.ParseEncoded(r.body, r.enc); err != nil {
			c.w.env.Log.Warn("malformed reply dropped", withTraceID(c.ctx, "msg_id", c.key, "err", err)...)
			lane.late.Add(1)
			lane.touch()
			return false, nil
		}
	}
	if c.rules != nil {
		switch c.rules.take(env) {
		case answerNow:
			c.got = []kazoo.Envelope{c.rules.answer()}
			lane.answered(time.Since(c.start))
			return true, nil
		case negativeEnough:
			return true, c.rules.negativeError(c.key, ErrNegativeReply)
		}
		return false, nil
	}
	if c.req.Validate != nil && !c.req.Validate(env) {
		return false, nil // CallCollect gathers the positive ones
	}
	c.got = append(c.got, env)
	if !c.until(c.got) {
		return false, nil
	}
	lane.answered(time.Since(c.start))
	return true, nil
}

// timedOut ends a call whose ctx ended: with the deferred reply a Call
// held, else ErrCallTimeout (a Call's negatives as a NegativeError) and
// what a CallCollect gathered.
func (c *callRun) timedOut() ([]kazoo.Envelope, error) {
	lane := c.lane
	if c.rules != nil && c.rules.answer() != nil { // a deferred reply held till now
		lane.answered(time.Since(c.start))
		return []kazoo.Envelope{c.rules.answer()}, nil
	}
	lane.timeouts.Add(1)
	lane.touch()
	err := fmt.Errorf("%w: %d replies to %s within the deadline (%v)", ErrCallTimeout, len(c.got), c.key, context.Cause(c.ctx))
	if c.rules != nil {
		if ne := c.rules.negativeError(c.key, err); ne != nil {
			return nil, ne
		}
	}
	return c.got, err
}
