package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/registry"
)

// body is the message every scenario sends: a 256-byte Kazoo event.
var body = func() []byte {
	b := []byte(`{"Event-Category":"call_event","Event-Name":"CHANNEL_ANSWER","Call-ID":"`)
	for len(b) < 254 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}()

// confirmWindow is how many confirmed publishes are in flight at once in
// the pipelined scenario, on both sides.
const confirmWindow = 64

// rawMessage is what raw amqp091 publishes where the message's
// properties do not matter (filling a queue, a round trip): body, as JSON.
var rawMessage = amqp.Publishing{ContentType: "application/json", Body: body}

// rawIDs numbers the message ids of rawPublishing's confirmed messages.
var rawIDs atomic.Uint64

// rawIDPrefix has the length of a Warren pool's ("warren-" and 12 hex
// digits and "-").
const rawIDPrefix = "raw-amqp-0123456789-"

// rawPublishing is what raw amqp091 publishes in the publish scenarios: the
// message Warren's side puts on the wire, so that both ask the same of the
// broker and of amqp091's encoder and the ratio measures Warren's own
// work. Warren stamps every publish with its time (publish.Timestamp; as
// Kazoo's basic_publish does), and gives a confirmed one a message id (its
// resends carry it). The stamp is not free: it costs the broker 1-3 µs a
// message, and fire-and-forget throughput 3-14 % (median 8 %) when only
// Warren's side carried it (docs/benchmarks.md).
func rawPublishing(confirmed bool) amqp.Publishing {
	m := amqp.Publishing{ContentType: "application/json", Timestamp: time.Now(), Body: body}
	if confirmed {
		var buf [48]byte
		m.MessageId = string(strconv.AppendUint(append(buf[:0], rawIDPrefix...), rawIDs.Add(1), 36))
	}
	return m
}

// boundedQueue keeps a publish scenario's queue from growing: the broker
// drops its oldest messages past 10,000.
var boundedQueue = amqp.Table{"x-max-length": int32(10000), "x-overflow": "drop-head"}

func scenarios() []scenario {
	return []scenario{
		{name: "publish", cpu: true, figures: []figure{{name: "publish, fire-and-forget", unit: "msg/s", goal: 0.95, higherIsBetter: true},
			{name: "publish, fire-and-forget: client CPU per message", unit: "µs", goal: 1.05}},
			raw: rawPublish, warren: warrenPublish},
		{name: "confirmed", cpu: true, figures: []figure{{name: "publish, confirmed, pipelined", unit: "msg/s", goal: 0.9, higherIsBetter: true},
			{name: "publish, confirmed: client CPU per message", unit: "µs", goal: 1.05}},
			raw: rawConfirmed, warren: warrenConfirmed},
		{name: "confirmed64", cpu: true, figures: []figure{{name: fmt.Sprintf("publish, confirmed, %d callers", confirmWindow), unit: "msg/s", goal: 0.9, higherIsBetter: true},
			{name: fmt.Sprintf("publish, confirmed, %d callers: client CPU per message", confirmWindow), unit: "µs", goal: 1.05}},
			raw: rawConfirmedCallers, warren: warrenConfirmedCallers},
		{name: "consume", figures: []figure{{name: "consume, listener, manual ack, prefetch 100", unit: "msg/s", goal: 0.95, higherIsBetter: true}},
			raw: rawConsume, warren: warrenConsume},
		{name: "rpc", figures: []figure{
			{name: "RPC round trip p50 (direct reply-to)", unit: "µs", goal: 1.15},
			{name: "RPC round trip p99 (direct reply-to)", unit: "µs", goal: 1.3}},
			raw: rawRPC, warren: warrenRPC},
		{name: "rpctargeted", figures: []figure{
			{name: "RPC round trip p50 (Kazoo targeted)", unit: "µs", goal: 1.15},
			{name: "RPC round trip p99 (Kazoo targeted)", unit: "µs", goal: 1.3}},
			raw: rawTargetedRPC, warren: warrenTargetedRPC},
		{name: "idle", figures: []figure{
			{name: "idle listener, heap", unit: "KiB", goal: 8, goalOn: "value"},
			{name: "idle listener, goroutines", unit: "goroutines", goal: 2, goalOn: "value"}},
			raw: rawIdle, warren: warrenIdle},
	}
}

func allScenarios() []scenario {
	return append(append(append(scenarios(), moreScenarios()...), nodeScenarios()...), fedScenarios()...)
}

// rate runs one until d passes, then sync, and returns how many times one
// succeeded per second and how many times that was. sync returns once the
// broker has read what one wrote: a fire-and-forget publisher can write
// faster than the broker reads (the socket's buffers take the rest), and
// what it left unread would be read during the next round, slowing the
// side measured then; the time to read it counts, as a sustained rate
// would pay it.
func rate(ctx context.Context, d time.Duration, one, sync func() error) (float64, int, error) {
	start := time.Now()
	n := 0
	for time.Since(start) < d && ctx.Err() == nil {
		if err := one(); err != nil {
			return 0, n, err
		}
		n++
	}
	if err := sync(); err != nil {
		return 0, n, fmt.Errorf("waiting for the broker to read the publishes: %w", err)
	}
	return float64(n) / time.Since(start).Seconds(), n, ctx.Err()
}

func rawPublish(ctx context.Context, e *env) ([]float64, error) {
	q, ch, err := e.queue("pub", boundedQueue)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	r, n, err := rate(ctx, e.opts.Duration, func() error {
		return ch.PublishWithContext(ctx, "", q, false, false, rawPublishing(false))
	}, func() error {
		return ch.Qos(0, 0, false) // a round trip on the publishing channel, after its publishes
	})
	return []float64{r, float64(n)}, err
}

func warrenPublish(ctx context.Context, e *env) ([]float64, error) {
	q, ch, err := e.queue("pub", boundedQueue)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	r, n, err := rate(ctx, e.opts.Duration, func() error { return e.tree.Publish(ctx, "", q, body) }, func() error {
		// Confirmed on the same connection, read after the publishes.
		return e.tree.Publish(ctx, "", q, body, publish.Confirm())
	})
	return []float64{r, float64(n)}, err
}

func rawConfirmed(ctx context.Context, e *env) ([]float64, error) {
	q, pch, done, err := e.confirmTarget()
	if err != nil {
		return nil, err
	}
	defer done()
	return counted(pipeline(ctx, e.opts.Duration, func() (func() error, error) {
		dc, err := pch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, rawPublishing(true))
		if err != nil {
			return nil, err
		}
		return func() error {
			if !dc.Wait() {
				return fmt.Errorf("raw publish nacked")
			}
			return nil
		}, nil
	}))
}

func warrenConfirmed(ctx context.Context, e *env) ([]float64, error) {
	q, ch, err := e.queue("conf", boundedQueue)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	return counted(pipeline(ctx, e.opts.Duration, func() (func() error, error) {
		pd, err := e.tree.PublishDeferred(ctx, "", q, body)
		if err != nil {
			return nil, err
		}
		return func() error { return pd.Wait(ctx) }, nil
	}))
}

// pipeline publishes from one goroutine with confirmWindow publishes in
// flight until d passes, and returns the confirmed ones per second and
// their number.
// publish writes one and returns what waits for its confirm.
func pipeline(ctx context.Context, d time.Duration, publish func() (wait func() error, err error)) (float64, int, error) {
	var window []func() error
	start, n := time.Now(), 0
	for time.Since(start) < d && ctx.Err() == nil {
		if len(window) == confirmWindow {
			if err := window[0](); err != nil {
				return 0, n, err
			}
			window, n = window[1:], n+1
		}
		wait, err := publish()
		if err != nil {
			return 0, n, err
		}
		window = append(window, wait)
	}
	for _, wait := range window {
		if err := wait(); err != nil {
			return 0, n, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), n, ctx.Err()
}

// confirmTarget makes a bounded queue and opens a channel of the raw
// connection in confirm mode to publish to it; done drops the one and
// closes the other.
func (e *env) confirmTarget() (q string, pch *amqp.Channel, done func(), err error) {
	q, ch, err := e.queue("conf", boundedQueue)
	if err != nil {
		return "", nil, nil, err
	}
	if pch, err = e.raw.Channel(); err == nil {
		if err = pch.Confirm(false); err != nil {
			_ = pch.Close()
		}
	}
	if err != nil {
		drop(ch, q)
		return "", nil, nil, err
	}
	return q, pch, func() { _ = pch.Close(); drop(ch, q) }, nil
}

// rawConfirmedCallers: confirmWindow goroutines share a confirm-mode
// channel, each publishing and waiting for its confirm in turn.
func rawConfirmedCallers(ctx context.Context, e *env) ([]float64, error) {
	q, pch, done, err := e.confirmTarget()
	if err != nil {
		return nil, err
	}
	defer done()
	return counted(perSecond(ctx, e.opts.Duration, confirmWindow, func() (func() error, func(), error) {
		return func() error {
			dc, err := pch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, rawPublishing(true))
			if err != nil {
				return err
			}
			if !dc.Wait() {
				return fmt.Errorf("raw publish nacked")
			}
			return nil
		}, nil, nil
	}))
}

// warrenConfirmedCallers: confirmWindow goroutines calling Tree.Publish
// with Confirm.
func warrenConfirmedCallers(ctx context.Context, e *env) ([]float64, error) {
	q, ch, err := e.queue("conf", boundedQueue)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	return counted(perSecond(ctx, e.opts.Duration, confirmWindow, func() (func() error, func(), error) {
		return func() error { return e.tree.Publish(ctx, "", q, body, publish.Confirm()) }, nil, nil
	}))
}

// fill puts n messages in a fresh queue and returns it.
func (e *env) fill(n int) (string, *amqp.Channel, error) {
	q, ch, err := e.queue("consume", nil)
	if err != nil {
		return "", nil, err
	}
	if err := ch.Confirm(false); err != nil {
		return "", nil, err
	}
	var last *amqp.DeferredConfirmation
	for range n {
		if last, err = ch.PublishWithDeferredConfirm("", q, false, false, rawMessage); err != nil {
			return "", nil, err
		}
	}
	if last != nil && !last.Wait() {
		return "", nil, fmt.Errorf("filling %s: nacked", q)
	}
	return q, ch, nil
}

// consumerChannel opens a channel of the raw connection with a prefetch of
// n, for a raw consumer.
func (e *env) consumerChannel(n int) (*amqp.Channel, error) {
	ch, err := e.raw.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(n, 0, false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	return ch, nil
}

func rawConsume(ctx context.Context, e *env) ([]float64, error) {
	n := e.opts.Messages
	q, ch, err := e.fill(n)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	cch, err := e.consumerChannel(100)
	if err != nil {
		return nil, err
	}
	defer cch.Close()
	start := time.Now()
	deliveries, err := cch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	for range n {
		select {
		case d := <-deliveries:
			var ev map[string]any // a raw consumer decodes its JSON too
			if err := json.Unmarshal(d.Body, &ev); err != nil {
				return nil, err
			}
			if err := d.Ack(false); err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return []float64{float64(n) / time.Since(start).Seconds()}, nil
}

func warrenConsume(ctx context.Context, e *env) ([]float64, error) {
	n := e.opts.Messages
	q, ch, err := e.fill(n)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	var got atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	_, err = e.tree.SpawnListener(ctx, listener.Spec{Name: q, Prefetch: 100, Queue: listener.QueueSpec{Name: q},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error {
			if got.Add(1) == int64(n) {
				close(done)
			}
			return nil
		}}}})
	if err != nil {
		return nil, err
	}
	defer func() { _ = e.tree.StopListener(context.Background(), q) }()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []float64{float64(n) / time.Since(start).Seconds()}, nil
}

// responder answers requests on a queue of its own: to the reply-to with
// the correlation id or, for a request without one, as Kazoo's services
// do: to the targeted exchange under the request's Server-ID.
func (e *env) responder() (string, func(), error) {
	q, ch, err := e.queue("rpc", nil)
	if err != nil {
		return "", nil, err
	}
	reqs, err := ch.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		return "", nil, err
	}
	go func() {
		for d := range reqs {
			var req map[string]any
			if json.Unmarshal(d.Body, &req) != nil {
				continue
			}
			serverID, _ := req["Server-ID"].(string)
			if d.ReplyTo == "" && serverID == "" {
				continue
			}
			resp, _ := json.Marshal(map[string]any{"Event-Category": "bench", "Event-Name": "resp", "Msg-ID": req["Msg-ID"],
				"App-Name": "bench", "App-Version": "1"})
			if d.ReplyTo != "" { // direct reply-to: to the pseudo-queue, matched by correlation id
				_ = ch.Publish("", d.ReplyTo, false, false, amqp.Publishing{ContentType: "application/json", CorrelationId: d.CorrelationId, Body: resp})
				continue
			}
			// Kazoo's way: to targeted, keyed by the caller's Server-ID, matched by Msg-ID.
			_ = ch.Publish(kazoo.ExchangeTargeted, serverID, false, false, amqp.Publishing{ContentType: "application/json", Body: resp})
		}
	}()
	return q, func() { drop(ch, q) }, nil
}

func percentiles(lat []time.Duration) []float64 {
	if len(lat) == 0 {
		return []float64{0, 0}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Microsecond) }
	return []float64{p(0.50), p(0.99)}
}

// rawCaller starts a responder and opens a raw channel to call it on;
// done stops both.
func (e *env) rawCaller() (queue string, ch *amqp.Channel, done func(), err error) {
	q, stop, err := e.responder()
	if err != nil {
		return "", nil, nil, err
	}
	ch, err = e.raw.Channel()
	if err != nil {
		stop()
		return "", nil, nil, err
	}
	return q, ch, func() { _ = ch.Close(); stop() }, nil
}

func rawRPC(ctx context.Context, e *env) ([]float64, error) {
	q, ch, done, err := e.rawCaller()
	if err != nil {
		return nil, err
	}
	defer done()
	replies, err := ch.Consume(rpc.DirectReplyTo, "", true, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	return latencies(ctx, e.opts.Duration, func() error { return rawCall(ch, replies, q) })
}

// rawServerID is the Server-ID a raw direct reply-to caller gives, as long
// as a Warren RPC worker's queue name (which Tree.Call sends there).
const rawServerID = "rawbench@localhost_worker-callers-1-0123abcd"

// rawKazooRequest is what a raw caller publishes for one call: the request
// Warren's Tree.Call puts on the wire (TestRawKazooRequest_IsTheRequestWarrenWrites),
// so that both sides ask the same of the broker and of the responder.
// That is Kazoo's envelope with a fresh Msg-ID and the caller's Server-ID
// (its queue on targeted, or rawServerID), the Msg-ID as correlation id,
// the time stamped, replyTo for direct reply-to; the caller publishes it
// mandatory (a request no queue takes comes back at once, as Kazoo's
// kz_amqp_worker asks too). It returns the Msg-ID.
func rawKazooRequest(serverID, replyTo string) (string, amqp.Publishing, error) {
	id := kazoo.NewMsgID()
	body, err := json.Marshal(map[string]string{"Event-Category": "bench", "Event-Name": "req", "Msg-ID": id,
		"Server-ID": serverID, "App-Name": "bench", "App-Version": "1"})
	return id, amqp.Publishing{ContentType: "application/json", CorrelationId: id, ReplyTo: replyTo, Timestamp: time.Now(), Body: body}, err
}

// rawCall makes one raw call to queue over direct reply-to: publish on ch,
// wait on replies (ch's consumer of amq.rabbitmq.reply-to) for its
// correlation id, and decode it (Tree.Call returns the reply's envelope).
func rawCall(ch *amqp.Channel, replies <-chan amqp.Delivery, queue string) error {
	corr, req, err := rawKazooRequest(rawServerID, rpc.DirectReplyTo)
	if err != nil {
		return err
	}
	if err := ch.Publish("", queue, true, false, req); err != nil {
		return err
	}
	for d := range replies {
		if d.CorrelationId == corr {
			var env map[string]any
			return json.Unmarshal(d.Body, &env)
		}
	}
	return amqp.ErrClosed
}

// benchRequest is what Warren's callers send to queue.
func benchRequest(queue string) rpc.Request {
	return rpc.Request{Exchange: "", RoutingKey: queue, DirectReply: true,
		Envelope: kazoo.Envelope{"Event-Category": "bench", "Event-Name": "req"}, Defaults: kazoo.Defaults{AppName: "bench", AppVersion: "1"}}
}

func warrenRPC(ctx context.Context, e *env) ([]float64, error) { return warrenRoundTrips(ctx, e, true) }

// warrenRoundTrips times Tree.Call to a responder, over direct reply-to
// or (direct false) Kazoo's targeted path: the RPC worker's own queue.
func warrenRoundTrips(ctx context.Context, e *env, direct bool) ([]float64, error) {
	q, stop, err := e.responder()
	if err != nil {
		return nil, err
	}
	defer stop()
	req := benchRequest(q)
	req.DirectReply = direct
	if _, err := e.tree.Call(ctx, req); err != nil { // the workers are ready
		return nil, err
	}
	return latencies(ctx, e.opts.Duration, func() error {
		_, err := e.tree.Call(ctx, req)
		return err
	})
}

// footprint returns the live heap and the goroutines, after a GC.
func footprint() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

func perItem(h0, h1 uint64, g0, g1, n int) []float64 {
	return []float64{(float64(h1) - float64(h0)) / 1024 / float64(n), float64(g1-g0) / float64(n)}
}

// idleWarmUp runs a side of the idle scenario once, unmeasured, before its
// first measured round: what the first listeners of a process allocate
// once (tables and maps growing to their size, the code's first use) is
// not what each listener holds, and it put the first round 50 % over the
// others, which marked the row untrusted in every run.
func (e *env) idleWarmUp(ctx context.Context, side string, run func(context.Context, *env) ([]float64, error)) error {
	if e.warmed[side] {
		return nil
	}
	if e.warmed == nil {
		e.warmed = map[string]bool{}
	}
	e.warmed[side] = true
	_, err := run(ctx, e)
	return err
}

func rawIdle(ctx context.Context, e *env) ([]float64, error) {
	if err := e.idleWarmUp(ctx, "raw", measureRawIdle); err != nil {
		return nil, err
	}
	return measureRawIdle(ctx, e)
}

func warrenIdle(ctx context.Context, e *env) ([]float64, error) {
	if err := e.idleWarmUp(ctx, "warren", measureWarrenIdle); err != nil {
		return nil, err
	}
	return measureWarrenIdle(ctx, e)
}

func measureRawIdle(ctx context.Context, e *env) ([]float64, error) {
	n := e.opts.Idle
	conn, err := amqp.Dial(e.opts.URL)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	h0, g0 := footprint()
	var chans []*amqp.Channel
	var keep []<-chan amqp.Delivery
	for range n {
		ch, err := conn.Channel()
		if err != nil {
			return nil, err
		}
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return nil, err
		}
		d, err := ch.Consume(q.Name, "", false, false, false, false, nil)
		if err != nil {
			return nil, err
		}
		chans, keep = append(chans, ch), append(keep, d)
	}
	h1, g1 := footprint()
	runtime.KeepAlive(keep)
	for _, ch := range chans {
		_ = ch.Close()
	}
	return perItem(h0, h1, g0, g1, n), ctx.Err()
}

func measureWarrenIdle(ctx context.Context, e *env) ([]float64, error) {
	n := e.opts.Idle
	h0, g0 := footprint()
	var names []string
	for i := range n {
		e.seq++
		name := fmt.Sprintf("warren-bench-idle-%d-%d", e.seq, i)
		pid, err := e.tree.SpawnListener(ctx, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name, AutoDelete: true},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
		if err != nil {
			return nil, err
		}
		if err := e.tree.WaitConsuming(ctx, pid); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	h1, g1 := footprint()
	for _, name := range names {
		_ = e.tree.StopListener(context.Background(), name)
	}
	return perItem(h0, h1, g0, g1, n), ctx.Err()
}

// nodeScenarios kill and restart the bench's own node.
func nodeScenarios() []scenario {
	return []scenario{
		{name: "reconnect", node: true, figures: []figure{{name: "one connection back after its port reopens", unit: "ms", goal: 1000, goalOn: "value"}},
			warren: warrenReconnect},
		{name: "restart", node: true, figures: []figure{{name: "N listeners consuming again after a restart", unit: "ms", goal: 1.0}},
			raw: rawRestart, warren: warrenRestart},
		listenersScenario(DefaultListeners), // Run makes one per count of Options.Listeners
	}
}

// restartNode kills the node and starts it again; it returns when the node
// answers AMQP, and the moment its port first accepted TCP.
func (e *env) restartNode(ctx context.Context) (time.Time, error) {
	b := e.opts.Node
	if err := b.Kill(); err != nil {
		return time.Time{}, err
	}
	opened := make(chan time.Time, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var d net.Dialer
		for pctx.Err() == nil {
			c, err := d.DialContext(pctx, "tcp", b.Addr())
			if err == nil {
				c.Close()
				opened <- time.Now()
				return
			}
			select {
			case <-pctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	if err := b.Start(ctx); err != nil {
		return time.Time{}, err
	}
	select {
	case at := <-opened:
		return at, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

func warrenReconnect(ctx context.Context, e *env) ([]float64, error) {
	id := e.brokerID
	opened, err := e.restartNode(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := e.tree.Registry().WaitConnection(ctx, id, func(c registry.Connection) bool { return c.State == registry.Connected }); err != nil {
		return nil, err
	}
	if err := e.redialRaw(); err != nil {
		return nil, err
	}
	return []float64{float64(time.Since(opened)) / float64(time.Millisecond)}, nil
}

// redialRaw replaces the raw connection after a restart.
func (e *env) redialRaw() error {
	_ = e.raw.Close()
	raw, err := amqp.Dial(e.opts.URL)
	if err != nil {
		return err
	}
	e.raw = raw
	return nil
}

func warrenRestart(ctx context.Context, e *env) ([]float64, error) {
	n := e.opts.Restart
	var names []string
	defer func() {
		for _, name := range names {
			_ = e.tree.StopListener(context.Background(), name)
		}
	}()
	e.seq++
	pids := make([]*actor.PID, 0, n)
	for i := range n {
		name := fmt.Sprintf("warren-bench-restart-%d-%d", e.seq, i)
		pid, err := e.tree.SpawnListener(ctx, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name, AutoDelete: true},
			Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: name}},
			Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
		if err != nil {
			return nil, err
		}
		names, pids = append(names, name), append(pids, pid)
	}
	// Each listener waited on its own row: a count over the whole table on
	// every change cost the tree's cores a share the raw side does not pay.
	if err := waitAllConsuming(ctx, e, pids); err != nil {
		return nil, err
	}
	opened, err := e.restartNode(ctx)
	if err != nil {
		return nil, err
	}
	if err := waitAllConsuming(ctx, e, pids); err != nil {
		return nil, err
	}
	took := time.Since(opened)
	return []float64{float64(took) / float64(time.Millisecond)}, e.redialRaw()
}

// rawRestart builds the same topology with raw amqp091-go after a restart
// (channel, prefetch, queue, bind, consume for each, all concurrently, as a
// client with its own recovery would) and times it from the port opening.
func rawRestart(ctx context.Context, e *env) ([]float64, error) {
	n := e.opts.Restart
	opened, err := e.restartNode(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.redialRaw(); err != nil {
		return nil, err
	}
	// The exchange is Kazoo's, not durable: gone with the node, as Warren's
	// connection declares it again, a raw client does too.
	ch, err := e.raw.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.ExchangeDeclare("callevt", "topic", false, false, false, false, nil); err != nil {
		return nil, err
	}
	_ = ch.Close()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ch, err := e.raw.Channel()
			if err == nil {
				err = ch.Qos(listener.DefaultPrefetch, 0, false) // a consumer's prefetch, as a listener sets it
			}
			if err == nil {
				name := fmt.Sprintf("warren-bench-raw-restart-%d", i)
				if _, err = ch.QueueDeclare(name, false, true, false, false, nil); err == nil {
					if err = ch.QueueBind(name, name, "callevt", false, nil); err == nil {
						_, err = ch.Consume(name, "", false, false, false, false, nil)
					}
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	took := time.Since(opened)
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return []float64{float64(took) / float64(time.Millisecond)}, e.redialRaw() // the consumers go with the connection
}
