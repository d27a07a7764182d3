package bench

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
)

// rpcCallers is how many goroutines call at once in the RPC throughput
// scenario.
const rpcCallers = 16

func moreScenarios() []scenario {
	return []scenario{
		{name: "latency", figures: []figure{
			{name: "end-to-end latency p50 (publish to handler)", unit: "µs", goal: 1.15},
			{name: "end-to-end latency p99 (publish to handler)", unit: "µs", goal: 1.3}},
			raw: rawLatency, warren: warrenLatency},
		{name: "rpc16", figures: []figure{{name: fmt.Sprintf("RPC calls/s, %d callers (direct reply-to)", rpcCallers), unit: "calls/s", goal: 0.9, higherIsBetter: true}},
			raw: rawRPCThroughput, warren: warrenRPCThroughput},
		{name: "channel", figures: []figure{
			{name: "channel acquisition (a warm prechannel pool vs opening one)", unit: "µs", goal: 0.5},
			{name: "channels acquired and released back to back (pool drained vs open+close)", unit: "ch/s", goal: 0.9, higherIsBetter: true}},
			raw: rawChannels, warren: warrenChannels},
	}
}

// rawLatency publishes one message at a time on one channel and times it
// to its delivery to a consumer on another, which, like a listener, decodes
// its JSON and acks each delivery (manual ack) once it has seen it.
func rawLatency(ctx context.Context, e *env) ([]float64, error) {
	q, ch, err := e.queue("lat", nil)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	cch, err := e.consumerChannel(listener.DefaultPrefetch)
	if err != nil {
		return nil, err
	}
	defer cch.Close()
	deliveries, err := cch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	arrived := make(chan struct{}, 1)
	go func() {
		for d := range deliveries { // ends when cch closes
			var ev map[string]any // a raw consumer decodes its JSON too, as in the consume scenario
			_ = json.Unmarshal(d.Body, &ev)
			select {
			case arrived <- struct{}{}: // one message is in flight at a time: never full
			default:
			}
			_ = d.Ack(false)
		}
	}()
	return latencies(ctx, e.opts.Duration, func() error {
		if err := ch.PublishWithContext(ctx, "", q, false, false, rawPublishing(false)); err != nil {
			return err
		}
		return arrival(ctx, arrived)
	})
}

// arrival waits for the next value on c.
func arrival[T any](ctx context.Context, c <-chan T) error {
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// warrenLatency publishes with Tree.Publish and times it to a listener's
// handler (acked once the handler returned, the listener's default).
func warrenLatency(ctx context.Context, e *env) ([]float64, error) {
	q, ch, err := e.queue("lat", nil)
	if err != nil {
		return nil, err
	}
	defer drop(ch, q)
	arrived := make(chan struct{}, 1)
	pid, err := e.tree.SpawnListener(ctx, listener.Spec{Name: q, Queue: listener.QueueSpec{Name: q},
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { arrived <- struct{}{}; return nil }}}})
	if err != nil {
		return nil, err
	}
	defer func() { _ = e.tree.StopListener(context.Background(), q) }()
	if err := e.tree.WaitConsuming(ctx, pid); err != nil {
		return nil, err
	}
	return latencies(ctx, e.opts.Duration, func() error {
		if err := e.tree.Publish(ctx, "", q, body); err != nil {
			return err
		}
		return arrival(ctx, arrived)
	})
}

// rawRPCThroughput runs rpcCallers raw callers, each on its own channel
// with its own direct reply-to consumer.
func rawRPCThroughput(ctx context.Context, e *env) ([]float64, error) {
	q, stop, err := e.responder()
	if err != nil {
		return nil, err
	}
	defer stop()
	return rated(perSecond(ctx, e.opts.Duration, rpcCallers, func() (func() error, func(), error) {
		ch, err := e.raw.Channel()
		if err != nil {
			return nil, nil, err
		}
		replies, err := ch.Consume(rpc.DirectReplyTo, "", true, false, false, false, nil)
		if err != nil {
			ch.Close()
			return nil, nil, err
		}
		return func() error { return rawCall(ch, replies, q) }, func() { ch.Close() }, nil
	}))
}

// warrenRPCThroughput runs rpcCallers goroutines calling Tree.Call.
func warrenRPCThroughput(ctx context.Context, e *env) ([]float64, error) {
	q, stop, err := e.responder()
	if err != nil {
		return nil, err
	}
	defer stop()
	r := benchRequest(q)
	if _, err := e.tree.Call(ctx, r); err != nil {
		return nil, err
	}
	return rated(perSecond(ctx, e.opts.Duration, rpcCallers, func() (func() error, func(), error) {
		return func() error {
			_, err := e.tree.Call(ctx, r)
			return err
		}, nil, nil
	}))
}
