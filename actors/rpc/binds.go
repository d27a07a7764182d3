package rpc

import (
	"context"
	"fmt"
	"log/slog"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
)

// callBinds holds the per-call bindings (Request.Bind, Kazoo's
// call_custom) of one worker's reply queue on one channel: the first call
// asking for a binding binds the queue, the last one to end unbinds it, so
// that calls sharing the worker share the binding.
//
// Owner: whoever holds tok (a cap-1 chan, so that a caller waiting for it
// gives up when its ctx ends) touches refs and runs the bind or unbind.
type callBinds struct {
	ch    *amqp.Channel
	link  *actors.Link
	queue string
	tok   chan struct{}
	refs  map[string]int // by bindKey: the calls in flight holding it
}

func newCallBinds(ch *amqp.Channel, link *actors.Link, queue string) *callBinds {
	return &callBinds{ch: ch, link: link, queue: queue, tok: make(chan struct{}, 1), refs: map[string]int{}}
}

// bindKey tells bindings apart (fmt prints a table's keys sorted).
func bindKey(b Binding) string {
	return fmt.Sprintf("%s\x00%s\x00%v", b.Exchange, b.RoutingKey, b.Args)
}

// acquire binds the queue with b unless a call in flight already did,
// bounded by ctx. A bind that answers after ctx ended is undone.
func (c *callBinds) acquire(ctx context.Context, b Binding) error {
	select {
	case c.tok <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	k := bindKey(b)
	if c.refs[k] > 0 {
		c.refs[k]++
		<-c.tok
		return nil
	}
	done := make(chan error, 1)
	go func() { // a channel method has no ctx: its answer is waited for below
		done <- c.link.Watch(func() error { return c.ch.QueueBind(c.queue, b.RoutingKey, b.Exchange, false, b.Args) })
	}()
	select {
	case err := <-done:
		if err == nil {
			c.refs[k]++
		}
		<-c.tok
		return err
	case <-ctx.Done():
		go func() { // keeps the token until the bind answered, then undoes it
			if <-done == nil {
				_ = c.link.Watch(func() error { return c.ch.QueueUnbind(c.queue, b.RoutingKey, b.Exchange, b.Args) })
			}
			<-c.tok
		}()
		return context.Cause(ctx)
	}
}

// release ends one call's hold on b, unbinding the queue when it was the
// last; the unbind runs in env's goroutine group (the call returns at
// once) and a failure is logged: the queue goes with its channel anyway.
func (c *callBinds) release(env *actors.Env, log *slog.Logger, b Binding) {
	env.Go(func() {
		select {
		case c.tok <- struct{}{}:
		case <-env.Stopping:
			return
		}
		defer func() { <-c.tok }()
		k := bindKey(b)
		if c.refs[k]--; c.refs[k] > 0 {
			return
		}
		delete(c.refs, k)
		if c.ch.IsClosed() {
			return
		}
		if err := c.link.Watch(func() error { return c.ch.QueueUnbind(c.queue, b.RoutingKey, b.Exchange, b.Args) }); err != nil {
			log.Warn("removing a call's binding failed", "queue", c.queue, "exchange", b.Exchange, "routing_key", b.RoutingKey, "err", redact.Error(err))
		}
	})
}
