package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// The caller faults of the fault suite: another caller's bad publishes and
// bad input of every kind while the load runs. None of it may fail a
// publish of the load, slow it past a deadline, or stop the listener.

// Another caller publishes to a missing exchange (a 404 that closes the
// channel it is sent on) and above the size limit, and binds a listener
// to a missing exchange (a channel exception on the consuming
// connection), over and over: each fails that caller with the broker's
// reason, the load's publishes all succeed.
func TestFault_ChannelExceptionsFromAnotherCaller(t *testing.T) {
	r := newFaultRig(t, "channel exceptions from another caller", withConfig(func(c *supervisor.Config) {
		c.Publish.MaxMessageSize = 64 << 10
	}))
	stop := r.load(2, 1, 2*time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
	failedBefore := r.l.failedCount()
	other, _ := spawnListener(t, r.tree, listener.Spec{Name: "other", Queue: listener.QueueSpec{Name: "other-q", AutoDelete: true},
		Raw: func(context.Context, *listener.Delivery) error { return nil }})
	for i := range 20 {
		err := r.l.timed(2*time.Second, func(ctx context.Context) error {
			return r.tree.Publish(ctx, "no-such-exchange", "k", []byte(`{}`), publish.Confirm())
		})
		if !errors.Is(err, publish.ErrNoExchange) {
			t.Fatalf("publish to a missing exchange: %v; want ErrNoExchange", err)
		}
		err = r.l.timed(2*time.Second, func(ctx context.Context) error {
			return r.tree.Publish(ctx, faultExchange, "big", make([]byte, 65<<10), publish.Confirm())
		})
		if !errors.Is(err, publish.ErrTooLarge) {
			t.Fatalf("oversized publish: %v; want ErrTooLarge", err)
		}
		if i%5 == 0 {
			// Tried at once on a consuming listener (the broker's NOT_FOUND
			// comes back); recorded for the next replay when the listener
			// is between channels (nil), and dropped when that replay is
			// refused. Either way the binding never sticks.
			err = r.l.timed(5*time.Second, func(ctx context.Context) error {
				return r.tree.AddBinding(ctx, other, listener.Binding{Exchange: "no-such-exchange", RoutingKey: "k"})
			})
			if err != nil && !strings.Contains(err.Error(), "NOT_FOUND") {
				t.Fatalf("binding to a missing exchange: %v; want the broker's NOT_FOUND (or nil while reconnecting)", err)
			}
		}
	}
	waitListener(t, r.tree, other.Id, 20*time.Second, "the other listener consuming without the refused binding", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && !strings.Contains(strings.Join(l.Bindings, ","), "no-such-exchange")
	})
	r.confirmedMore(t, 50, 10*time.Second, "publishes still flowing")
	if n := r.l.failedCount() - failedBefore; n != 0 {
		t.Errorf("%d of the load's publishes failed while another caller misbehaved", n)
	}
	r.consumingAgain(t, 10*time.Second)
	r.finish(t, stop)
}

// The broker cancels the listener's consumer (its queue deleted) while the
// only worker is held by a slow handler with deliveries prefetched: the
// queue is declared again and consuming resumes at once, without waiting
// for the handler. Recovery is the time from the deletion to the broker
// listing the new consumer.
func TestFault_ConsumerCancelWithASlowHandler(t *testing.T) {
	var hold sync.Mutex // held: the handler waits (the slow handler)
	r := newFaultRig(t, "consumer cancel, slow handler", withSpec(func(s *listener.Spec) {
		s.Workers, s.Prefetch = 1, 20
		h := s.Handlers[0].Handler
		s.Handlers[0].Handler = func(ctx context.Context, d *listener.Delivery) error {
			hold.Lock()
			hold.Unlock() //nolint:staticcheck // a gate, not a critical section
			return h(ctx, d)
		}
	}))
	stop := r.load(2, 0, 2*time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
	stop()
	r.l.settle(30 * time.Second)

	hold.Lock()
	ch := r.raw
	for i := range 10 {
		body := fmt.Sprintf(`{"Event-Category":"fault","Event-Name":"held","Msg-ID":"held-%d"}`, i)
		if err := ch.PublishWithContext(within(t, 5*time.Second), "", r.queue, false, false, amqp.Publishing{Body: []byte(body), ContentType: "application/json"}); err != nil {
			t.Fatal(err)
		}
	}
	waitListener(t, r.tree, r.listener.Id, 10*time.Second, "handler busy", func(l registry.Listener) bool { return l.InFlight == 1 })
	if _, err := ch.QueueDelete(r.queue, false, false, false); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	r.consumingAgain(t, 10*time.Second)
	r.l.setRecovery(time.Since(deleted))
	hold.Unlock()

	stop = r.load(2, 1, 2*time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes to the new queue")
	r.finish(t, stop)
}

// Bad input while the load runs: malformed JSON and charset-labelled JSON
// on the listener's queue, an oversized publish, a publish to an unknown
// exchange, broken config files and URIs. Each gets a clear error (or, for
// JSON with a charset, is decoded); the load never notices.
func TestFault_BadInput(t *testing.T) {
	r := newFaultRig(t, "bad input", withConfig(func(c *supervisor.Config) { c.Publish.MaxMessageSize = 64 << 10 }))
	stop := r.load(2, 1, 2*time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
	failedBefore := r.l.failedCount()
	ch := r.raw
	raw := func(contentType, body string) {
		t.Helper()
		if err := ch.PublishWithContext(within(t, 5*time.Second), faultExchange, "raw", false, false,
			amqp.Publishing{ContentType: contentType, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}

	raw("application/json", `{"Event-Category":"fault",`)
	waitListener(t, r.tree, r.listener.Id, 10*time.Second, "malformed JSON rejected", func(l registry.Listener) bool { return l.Rejected == 1 })

	raw("application/json; charset=utf-8", `{"Event-Category":"fault","Event-Name":"probe","Msg-ID":"charset-1"}`)
	testkit.Await(t, 10*time.Second, "charset-labelled JSON dispatched", r.l.changes, func() bool {
		r.l.mu.Lock()
		defer r.l.mu.Unlock()
		return r.l.received["charset-1"] == 1
	})

	err := r.l.timed(2*time.Second, func(ctx context.Context) error {
		return r.tree.Publish(ctx, faultExchange, "big", make([]byte, 65<<10), publish.Confirm())
	})
	if !errors.Is(err, publish.ErrTooLarge) || !strings.Contains(err.Error(), "65536") {
		t.Errorf("oversized publish: %v; want ErrTooLarge naming the limit", err)
	}
	err = r.l.timed(2*time.Second, func(ctx context.Context) error {
		return r.tree.Publish(ctx, "no-such-exchange", "k", []byte(`{}`))
	})
	if !errors.Is(err, publish.ErrNoExchange) {
		t.Errorf("publish to an unknown exchange: %v; want ErrNoExchange", err)
	}

	dir := t.TempDir()
	for _, bad := range []struct{ name, ini, want string }{
		{"no zone", "[amqp]\nheartbeat = 5\n", "broker"},
		{"bad URI", "[zone]\nname = local\namqp_uri = http://guest:s3cret@127.0.0.1:5672/\n", "scheme"},
		{"bad number", "[zone]\nname = local\namqp_uri = amqp://guest:s3cret@127.0.0.1:1/\n[warren]\nprechannels = lots\n", "prechannels"},
		{"typo", "[zone]\nname = local\namqp_uri = amqp://guest:s3cret@127.0.0.1:1/\n[warren]\nheartbeats = 5\n", "unknown key"},
		{"port out of range", "[zone]\nname = local\namqp_uri = amqp://guest:s3cret@127.0.0.1:99999/\n", "port"},
		{"not INI", "{\"zones\": [}\n", ""},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(bad.name, " ", "-")+".ini")
		if err := os.WriteFile(path, []byte(bad.ini), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := supervisor.LoadINI(path)
		if err == nil {
			var tree *supervisor.Tree
			if tree, err = supervisor.Start(cfg); err == nil {
				_ = tree.Shutdown(within(t, 10*time.Second))
				t.Errorf("config %s: started a tree", bad.name)
				continue
			}
		}
		if !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("config %s: %v; want an error naming %q, without the password", bad.name, err, bad.want)
		}
	}

	r.confirmedMore(t, 50, 10*time.Second, "publishes still flowing")
	if n := r.l.failedCount() - failedBefore; n != 0 {
		t.Errorf("%d of the load's publishes failed during the bad input", n)
	}
	r.consumingAgain(t, 10*time.Second)
	r.finish(t, stop)
}
