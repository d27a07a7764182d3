package rpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/tracing"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// worker is one RPC worker of the pool: Kazoo's kz_amqp_worker. It holds a
// channel on which its callers publish requests, and consumes there its
// reply queue (bound to "targeted" under its own name, the Server-ID of its
// requests) and RabbitMQ's direct reply-to.
//
// It follows moves (a drained broker, RequestChannel.CanMove): on a
// ChannelAssigned with MovedFrom it sets up a new reply queue (a new name:
// in a cluster the old exclusive one is still its old connection's) on the
// new channel, where new calls go once it is ready; calls in flight on the
// old channel keep waiting for their replies there until they end, and
// then the worker gives the old channel back (ReleaseChannel).
//
// Owner:    its mailbox; workerLane holds what callers and the reply
// .         goroutine touch.
// Writes:   its own workers row.
// Blocking: declaring and consuming run in a goroutine; replies are read by
// .         a goroutine per channel.
type worker struct {
	env   *actors.Env
	lane  *workerLane
	pin   Pin    // where its channel comes from
	pool  string // its pool's name
	log   *slog.Logger
	node  string
	queue string
	gen   uint64
	chID  string
	since time.Time
	last  registry.WorkerState
	self  *actor.PID
	// moveFrom is the channel a move left (MovedFrom) until the new one is
	// ready; old its ready state, when it was ready: its calls in flight
	// end before it is given back.
	moveFrom string
	old      *workerState
}

type workerReady struct {
	gen            uint64
	ch             *amqp.Channel
	link           *actors.Link
	broker         string
	queued, direct <-chan amqp.Delivery
	returns        <-chan amqp.Return // the requests the broker returned (published mandatory)
	err            error
}

// workerQueueName is Kazoo's worker queue naming: node, module, a random tail.
func workerQueueName(node, name string) string {
	if node == "" {
		host, _ := os.Hostname()
		node = "warren@" + host
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return node + "-warren_worker-" + name + "-" + hex.EncodeToString(b)
}

func newWorkerProps(env *actors.Env, lane *workerLane, node string, pin Pin, pool string) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &worker{env: env, lane: lane, pin: pin, pool: pool, log: env.Log.With("actor", "worker", "worker", lane.name),
			node: node, queue: workerQueueName(node, lane.name)}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

var _ actor.Actor = (*worker)(nil)

func (w *worker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.self = ctx.Self()
		w.lane.set(&workerState{status: registry.WorkerWaiting})
		w.write(registry.WorkerWaiting)
		ctx.Send(w.env.PID(actors.AssignmentsName), w.pin.channelRequest(ctx.Self()))
	case *actor.Restarting:
		ctx.Send(w.env.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: ctx.Self()})
		w.lane.set(&workerState{status: registry.WorkerWaiting})
	case *actor.Stopping:
		w.lane.set(&workerState{status: registry.WorkerWaiting, stopped: true})
	case *actor.Stopped:
		path := ctx.Self().Id
		_ = w.env.Workers.DeleteWorker(path)
	case *actors.ChannelAssigned:
		w.gen = actors.NextGeneration()
		w.chID = m.ID
		if m.MovedFrom != "" {
			w.moving(m.MovedFrom)
		}
		w.setup(m)
	case *actors.ChannelLost:
		w.gen = actors.NextGeneration()
		w.chID = ""
		w.lane.set(&workerState{status: registry.WorkerReconnect})
		w.write(registry.WorkerReconnect)
	case *workerReady:
		if m.gen != w.gen {
			return
		}
		if m.err != nil {
			// A channel exception closed the channel: assignments replaces it.
			w.log.Error("declaring the reply queue failed", "queue", w.queue, "err", redact.Error(m.err))
			return
		}
		w.lane.set(&workerState{status: registry.WorkerReady, ch: m.ch, link: m.link, queue: w.queue, broker: m.broker, id: w.chID, calls: &chanCalls{},
			binds: newCallBinds(m.ch, m.link, w.queue)})
		w.readReplies(m.queued, m.direct, m.returns)
		w.write(registry.WorkerReady)
		w.retireOld()
	case *actors.FlushCounters:
		w.lane.flush.Flushed()
		w.write(w.lane.state.Load().status)
	}
}

// setup declares the reply queue, binds it to targeted under its own name and
// consumes it and direct reply-to, in a goroutine.
func (w *worker) setup(m *actors.ChannelAssigned) {
	gen, queue, env, self := w.gen, w.queue, w.env, w.self
	go func() {
		r := &workerReady{gen: gen, ch: m.Channel, link: m.Link, broker: m.Broker}
		ch := m.Channel
		// Registered before the first request goes out; the reply reader
		// drains it (amqp091's reader waits on a full one).
		r.returns = ch.NotifyReturn(make(chan amqp.Return, returnsBuffer))
		// targeted as Kazoo declares it (kapi_self, on every worker's start):
		// the publishing connection may be up before the consuming one
		// declared the configured exchanges on this broker.
		r.err = ch.ExchangeDeclare(kazoo.ExchangeTargeted, kazoo.KindDirect, false, false, false, false, nil)
		if r.err != nil {
			env.Send(self, r)
			return
		}
		if _, r.err = ch.QueueDeclare(queue, false, true, true, false, nil); r.err == nil { // exclusive: gone with its connection, consumed or not
			if r.err = ch.QueueBind(queue, queue, kazoo.ExchangeTargeted, false, nil); r.err == nil {
				if r.queued, r.err = ch.Consume(queue, "", true, false, false, false, nil); r.err == nil {
					r.direct, r.err = ch.Consume(DirectReplyTo, "", true, false, false, false, nil)
				}
			}
		}
		env.Send(self, r)
	}()
}

// returnsBuffer is the capacity of a worker channel's NotifyReturn chan,
// which its reply reader drains as it comes.
const returnsBuffer = 16

// readReplies matches replies to waiting calls by Msg-ID (the Kazoo way) or,
// for direct reply-to, by correlation id, and the requests the broker
// returned by correlation id (a call's key).
func (w *worker) readReplies(queued, direct <-chan amqp.Delivery, returns <-chan amqp.Return) {
	lane, log := w.lane, w.log
	go func() {
		for queued != nil || direct != nil {
			var d amqp.Delivery
			var ok bool
			select {
			case r, ok := <-returns:
				if !ok {
					returns = nil
					continue
				}
				lane.deliver(r.CorrelationId, reply{returned: &r})
				continue
			case d, ok = <-queued:
				if !ok {
					queued = nil
					continue
				}
			case d, ok = <-direct:
				if !ok {
					direct = nil
					continue
				}
			}
			if key := d.CorrelationId; key != "" {
				lane.deliver(key, reply{body: d.Body, enc: d.ContentEncoding, headers: d.Headers}) // its caller parses it
				continue
			}
			env, _, err := kazoo.ParseEncoded(d.Body, d.ContentEncoding) // gzip decompressed, bounded
			if err != nil {
				log.Warn("malformed reply dropped", withTraceID(tracing.Extract(context.Background(), d.Headers), "queue", w.queue, "err", err)...)
				lane.late.Add(1)
				continue
			}
			lane.deliver(env.MsgID(), reply{env: env, headers: d.Headers})
		}
	}()
}

func (w *worker) write(st registry.WorkerState) {
	if st != w.last {
		w.since, w.last = time.Now(), st
	}
	s := w.lane.state.Load()
	row := registry.RPCWorker{Path: w.self.Id, Name: w.lane.name, Pool: w.pool, Queue: w.queue, Broker: s.broker, Channel: w.chID, State: st,
		Since: w.since, Busy: w.lane.busy.Load(), Calls: w.lane.calls.Load(), Replies: w.lane.replies.Load(),
		Timeouts: w.lane.timeouts.Load(), Late: w.lane.late.Load(), Errors: w.lane.errors.Load(), MeanMs: w.lane.meanMs()}
	if err := w.env.Workers.PutWorker(row); err != nil {
		w.log.Error("writing workers row", "err", err)
	}
}

// moving starts a move off channel from: the worker keeps the state of that
// channel until the new one is ready, and a new reply queue name for the
// new one.
func (w *worker) moving(from string) {
	w.moveFrom = from
	if w.old == nil || w.old.id != from {
		w.old = nil
		if st := w.lane.state.Load(); st.status == registry.WorkerReady && st.id == from {
			w.old = st
		}
	}
	w.queue = workerQueueName(w.node, w.lane.name)
	w.log.Info("moving to a channel on another broker", "from", from)
}

// retireOld, once the new channel is ready, gives the old one back as soon
// as no call in flight waits on it any more (each ends by its deadline).
func (w *worker) retireOld() {
	from, old := w.moveFrom, w.old
	w.moveFrom, w.old = "", nil
	if from == "" {
		return
	}
	env, assignments, self := w.env, w.env.PID(actors.AssignmentsName), w.self
	if old == nil { // never ready: no call on it
		env.Send(assignments, &actors.ReleaseChannel{Consumer: self, ID: from})
		return
	}
	idle := old.calls.retire()
	env.Go(func() { // ends with the last call on it (by its deadline), or when the tree stops
		select {
		case <-idle:
			env.Send(assignments, &actors.ReleaseChannel{Consumer: self, ID: from})
		case <-env.Stopping:
		}
	})
}
