package bench

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
)

// fedScenarios compare two ways of delivering across zones, on the same
// two nodes with the same messages: RabbitMQ's federation plugin (raw)
// and Warren's federated listener. The publisher is the same on both
// sides, raw amqp091 on the remote node; only the link differs.
func fedScenarios() []scenario {
	return []scenario{
		{name: "federation", node: true, figures: []figure{
			{name: "cross-zone latency p50 (publish on remote to consumer on local)", unit: "µs"},
			{name: "cross-zone latency p99 (publish on remote to consumer on local)", unit: "µs"},
			{name: "cross-zone throughput (confirmed on remote, arriving on local)", unit: "msg/s", higherIsBetter: true},
			{name: "cross-zone, remote killed at 200 msg/s: confirmed messages lost", unit: "msgs"},
			{name: "cross-zone, remote killed at 200 msg/s: messages duplicated", unit: "msgs"},
			{name: "cross-zone, remote killed at 200 msg/s: first delivery after its port reopens", unit: "ms"}},
			raw:    func(ctx context.Context, e *env) ([]float64, error) { return fedSide(ctx, e, fedPluginExchange) },
			warren: func(ctx context.Context, e *env) ([]float64, error) { return fedSide(ctx, e, fedWarrenExchange) }},
	}
}

// fedSide runs one round of the federation scenario through exchange (the
// plugin's or Warren's): latency, throughput, then the kill test.
func fedSide(ctx context.Context, e *env, exchange string) ([]float64, error) {
	r, err := e.fedRig(ctx)
	if err != nil {
		return nil, err
	}
	lat, err := r.latency(ctx, e, exchange)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	rate, err := r.throughput(ctx, e, exchange)
	if err != nil {
		return nil, fmt.Errorf("throughput: %w", err)
	}
	k, err := r.killTest(ctx, e, exchange)
	if err != nil {
		return nil, fmt.Errorf("kill test: %w", err)
	}
	return append(lat, rate, float64(k.lost), float64(k.duplicated), float64(k.resume)/float64(time.Millisecond)), nil
}

// phase starts a phase of a round: a fresh tally for the consumers, and a
// publisher's channel on the remote node (confirm mode if confirm); done
// closes the channel's connection and stops the tally.
func (r *fedRig) phase(e *env, confirm bool) (t *tally, ch *amqp.Channel, done func(), err error) {
	conn, err := amqp.Dial(e.opts.URL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dial the remote node: %s", redact.Error(err))
	}
	if ch, err = conn.Channel(); err == nil && confirm {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, nil, nil, err
	}
	return r.begin(e), ch, func() { r.end(); _ = conn.Close() }, nil
}

// begin gives the consumers a fresh tally, for the phase starting.
func (r *fedRig) begin(e *env) *tally {
	e.seq++
	t := newTally(int64(e.seq))
	r.sink.cur.Store(t)
	return t
}

// end stops the phase's tally: deliveries from then on are dropped.
func (r *fedRig) end() { r.sink.cur.Store(nil) }

// fedPublishing is a persistent publishing of body.
func fedPublishing(body []byte) amqp.Publishing {
	return amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body}
}

// latency publishes one message at a time on the remote node until
// Options.Duration passes, each once the one before reached the local
// consumer, and returns the p50 and p99 of the time from its publish (the
// timestamp in its body) to its delivery, in µs.
func (r *fedRig) latency(ctx context.Context, e *env, exchange string) ([]float64, error) {
	t, ch, done, err := r.phase(e, false)
	if err != nil {
		return nil, err
	}
	defer done()
	for seq, start := int64(0), time.Now(); time.Since(start) < e.opts.Duration && ctx.Err() == nil; seq++ {
		if err := ch.PublishWithContext(ctx, exchange, "lat", false, false, fedPublishing(fedBody(t.run, seq))); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := t.wait(wctx, fmt.Sprintf("message %d on the local node", seq), func() bool { return t.seen(seq) })
		cancel()
		if err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return percentiles(t.lat), ctx.Err()
}

// throughput publishes on the remote node for Options.Duration,
// confirmWindow confirmed publishes in flight, and returns the confirmed
// messages per second from the first publish to the last one's delivery
// on the local node.
func (r *fedRig) throughput(ctx context.Context, e *env, exchange string) (float64, error) {
	t, ch, done, err := r.phase(e, true)
	if err != nil {
		return 0, err
	}
	defer done()
	start, seq := time.Now(), int64(0)
	_, n, err := pipeline(ctx, e.opts.Duration, func() (func() error, error) {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, "tput", false, false, fedPublishing(fedBody(t.run, seq)))
		seq++
		if err != nil {
			return nil, err
		}
		return func() error {
			if !dc.Wait() {
				return fmt.Errorf("publish nacked by the remote node")
			}
			return nil
		}, nil
	})
	if err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := t.wait(wctx, fmt.Sprintf("%d confirmed messages on the local node", n), func() bool { return len(t.counts) >= n }); err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return float64(n) / t.last.Sub(start).Seconds(), nil
}
