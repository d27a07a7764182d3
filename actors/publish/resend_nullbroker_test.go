package publish_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// received waits for what the broker's LoseConfirms reports.
func received(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	testkit.Recv(t, ch, 5*time.Second, what)
}

// resentPair checks that a publish reached its queue twice: first as
// written, then resent with the same MessageId and x-warren-resent=1, the
// caller's headers kept.
func resentPair(t *testing.T, d <-chan amqp.Delivery, id string) {
	t.Helper()
	first, second := next(t, d), next(t, d)
	if first.MessageId == "" || first.MessageId != second.MessageId || (id != "" && first.MessageId != id) {
		t.Fatalf("message ids %q, %q; want one id twice (%q)", first.MessageId, second.MessageId, id)
	}
	if _, ok := first.Headers[publish.ResentHeader]; ok {
		t.Fatalf("first write carries %s: %v", publish.ResentHeader, first.Headers)
	}
	if n, ok := second.Headers[publish.ResentHeader].(int32); !ok || n != 1 {
		t.Fatalf("resend's headers %v; want %s=1 (int32)", second.Headers, publish.ResentHeader)
	}
	if string(first.Body) != string(second.Body) || second.Headers["X-Kazoo"] != first.Headers["X-Kazoo"] {
		t.Fatalf("resend differs: %+v vs %+v", second, first)
	}
}

// The broker routes a confirmed publish and then closes its connection
// with 320 before the ack (a node stopped): the publish is written again,
// with its generated MessageId and x-warren-resent=1, on a channel of the
// new connection, and Publish returns nil once that is acked. The
// caller's headers table is not changed.
func TestPublish_ResentWhenItsConnectionClosesBeforeTheAck(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "resend-q", "kapps", "resend")
	headers := amqp.Table{"X-Kazoo": "yes"}
	lost := nb.LoseConfirms(1)
	err := tree.Publish(within(t, 10*time.Second), "kapps", "resend", []byte(`{"n":1}`), publish.Confirm(), publish.Headers(headers))
	if err != nil {
		t.Fatal(err)
	}
	received(t, lost, "lost confirm")
	resentPair(t, d, "")
	if len(headers) != 1 {
		t.Fatalf("the caller's headers were changed: %v", headers)
	}
	waitPublishers(t, tree, "one resent, one confirmed, none unconfirmed", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.Resent }) == 1 &&
			total(rows, func(r registry.Publisher) uint64 { return r.Confirmed }) == 1 &&
			total(rows, func(r registry.Publisher) uint64 { return r.Unconfirmed }) == 0
	})
}

// Mandatory publishes are resent too; the return of a resend reaches its
// caller.
func TestPublish_MandatoryResent(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "resend-m", "kapps", "resend-m")
	lost := nb.LoseConfirms(1)
	err := tree.Publish(within(t, 10*time.Second), "kapps", "resend-m", []byte(`{}`), publish.Confirm(), publish.Mandatory(), publish.MessageID("m-1"))
	if err != nil {
		t.Fatal(err)
	}
	received(t, lost, "lost confirm")
	resentPair(t, d, "m-1")
	lost = nb.LoseConfirms(1)
	err = tree.Publish(within(t, 10*time.Second), "kapps", "nowhere", []byte(`{}`), publish.Confirm(), publish.Mandatory())
	var re *publish.ReturnedError
	if !errors.As(err, &re) || re.Code != 312 {
		t.Fatalf("unroutable resent publish = %v; want its return", err)
	}
	received(t, lost, "lost confirm")
}

// PublishDeferred's Wait resends as Publish does.
func TestPublishDeferred_WaitResends(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "resend-d", "kapps", "resend-d")
	ctx := within(t, 10*time.Second)
	if err := tree.Publish(ctx, "kapps", "resend-d", []byte(`{}`)); err != nil { // the exchange is checked
		t.Fatal(err)
	}
	next(t, d)
	lost := nb.LoseConfirms(1)
	pd, err := tree.PublishDeferred(ctx, "kapps", "resend-d", []byte(`{"n":2}`), publish.MessageID("d-1"))
	if err != nil {
		t.Fatal(err)
	}
	received(t, lost, "lost confirm")
	<-pd.Done() // the first write's channel closed
	if err := pd.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	resentPair(t, d, "d-1")
}

// A resend that finds no channel (the broker is down) gives up with its
// ctx, naming why the first write was lost and why no resend went out.
func TestPublish_AResendWithNoChannelEndsWithTheCtx(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{MaxWait: time.Minute})
	nb.Freeze() // no ack, and no new connection's handshake, until Thaw
	defer nb.Thaw()
	const wait = 1500 * time.Millisecond
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- tree.Publish(within(t, wait), "", "k", []byte(`{}`), publish.Confirm()) }()
	waitPublishers(t, tree, "the confirm in flight", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return uint64(r.InFlight) }) == 1
	})
	nb.Kill()
	err := testkit.Recv(t, done, 5*time.Second, "the publish's return")
	took := time.Since(start)
	// Ended by its ctx (DeadlineExceeded), not sooner.
	if !errors.Is(err, publish.ErrNotConfirmed) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "channel closed before the broker's ack") || !strings.Contains(err.Error(), "resend 1") {
		t.Fatalf("err = %v", err)
	}
	if took < wait {
		t.Fatalf("returned after %v; want its ctx's %v", took, wait)
	}
}

// WaitIdle waits for a confirmed publish in flight, and for a Pending
// until its Wait returned; it fails with its ctx naming how many are left.
func TestPool_WaitIdle(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := pubTree(t, nb, publish.Config{})
	pool, err := tree.Publishers()
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.WaitIdle(within(t, time.Second)); err != nil {
		t.Fatalf("an idle pool: %v", err)
	}
	nb.Freeze() // the ack waits for Thaw
	done := make(chan error, 1)
	go func() { done <- tree.Publish(within(t, 10*time.Second), "", "k", []byte(`{}`), publish.Confirm()) }()
	waitPublishers(t, tree, "the confirm in flight", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return uint64(r.InFlight) }) == 1
	})
	err = pool.WaitIdle(within(t, 100*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 publishes still in progress") {
		t.Fatalf("WaitIdle with a publish in flight = %v", err)
	}
	idle := make(chan error, 1)
	go func() { idle <- pool.WaitIdle(within(t, 10*time.Second)) }()
	select {
	case err := <-idle:
		t.Fatalf("WaitIdle returned %v with a publish in flight", err)
	default:
	}
	nb.Thaw()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-idle; err != nil {
		t.Fatalf("WaitIdle once the publish was acked = %v", err)
	}
	ctx := within(t, 5*time.Second)
	pd, err := tree.PublishDeferred(ctx, "", "k", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	<-pd.Done()
	if err := pool.WaitIdle(within(t, 100*time.Millisecond)); err == nil || !strings.Contains(err.Error(), "1 publishes") {
		t.Fatalf("WaitIdle with a Pending not waited for = %v", err)
	}
	if err := pd.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle after the Pending's Wait = %v", err)
	}
}

// Shutdown lets the confirms in flight come in before it stops the
// publishers: a confirmed publish made just before it succeeds, and one
// still unconfirmed when the ctx runs out is named in its error.
func TestShutdown_WaitsForTheConfirmsInFlight(t *testing.T) {
	t.Run("the ack comes in during the drain", func(t *testing.T) {
		nb := startNull(t, nullbroker.Config{})
		tree := pubTree(t, nb, publish.Config{})
		nb.Freeze()
		done := make(chan error, 1)
		go func() { done <- tree.Publish(within(t, 10*time.Second), "", "k", []byte(`{}`), publish.Confirm()) }()
		waitPublishers(t, tree, "the confirm in flight", func(rows []registry.Publisher) bool {
			return total(rows, func(r registry.Publisher) uint64 { return uint64(r.InFlight) }) == 1
		})
		stopped := make(chan error, 1)
		go func() { stopped <- tree.Shutdown(within(t, 10*time.Second)) }()
		nb.Thaw()
		if err := <-done; err != nil {
			t.Fatalf("a publish confirmed during the shutdown's drain failed: %v", err)
		}
		if err := <-stopped; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
	t.Run("the ack never comes", func(t *testing.T) {
		nb := startNull(t, nullbroker.Config{})
		tree := pubTreeShut(t, nb, publish.Config{}, false)
		nb.Freeze()
		t.Cleanup(nb.Thaw)
		done := make(chan error, 1)
		go func() { done <- tree.Publish(within(t, 10*time.Second), "", "k", []byte(`{}`), publish.Confirm()) }()
		waitPublishers(t, tree, "the confirm in flight", func(rows []registry.Publisher) bool {
			return total(rows, func(r registry.Publisher) uint64 { return uint64(r.InFlight) }) == 1
		})
		err := tree.Shutdown(within(t, 2*time.Second))
		if !errors.Is(err, supervisor.ErrDrainCut) || !strings.Contains(err.Error(), "publishers: 1 publishes still in progress") {
			t.Fatalf("Shutdown = %v, want ErrDrainCut naming the publish in flight", err)
		}
		if err := <-done; !errors.Is(err, publish.ErrNotConfirmed) {
			t.Fatalf("the unconfirmed publish returned %v, want ErrNotConfirmed", err)
		}
	})
}
