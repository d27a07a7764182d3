package publish

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/testkit"
)

func TestPublishOptions(t *testing.T) {
	tests := []struct {
		name    string
		given   []Option
		want    func(r publishRequest) bool
		wantErr string
	}{
		{name: "defaults to fire-and-forget JSON, transient", want: func(r publishRequest) bool {
			return r.msg.ContentType == DefaultContentType && !r.confirm && !r.mandatory && r.msg.DeliveryMode == 0
		}},
		{name: "confirm, persistent, mandatory", given: []Option{Confirm(), Persistent(), Mandatory()}, want: func(r publishRequest) bool {
			return r.confirm && r.mandatory && r.msg.DeliveryMode == amqp.Persistent
		}},
		{name: "expiration rounds up to whole milliseconds", given: []Option{Expiration(1500 * time.Microsecond)}, want: func(r publishRequest) bool {
			return r.msg.Expiration == "2"
		}},
		{name: "properties", given: []Option{ContentType("text/plain"), MessageID("m"), CorrelationID("c"), ReplyTo("q"), Priority(5), Type("t"), AppID("a"), ContentEncoding("gzip")},
			want: func(r publishRequest) bool {
				m := r.msg
				return m.ContentType == "text/plain" && m.MessageId == "m" && m.CorrelationId == "c" && m.ReplyTo == "q" &&
					m.Priority == 5 && m.Type == "t" && m.AppId == "a" && m.ContentEncoding == "gzip"
			}},
		{name: "gzip, a timestamp, a user id", given: []Option{Gzip(), Timestamp(time.Unix(1700000000, 0)), UserID("kazoo")},
			want: func(r publishRequest) bool {
				return r.msg.ContentEncoding == "gzip" && r.msg.Timestamp.Unix() == 1700000000 && r.stamped && r.msg.UserId == "kazoo" && !r.encoded
			}},
		{name: "a body in its encoding already", given: []Option{ContentEncoding("gzip"), Encoded()}, want: func(r publishRequest) bool {
			return r.msg.ContentEncoding == "gzip" && r.encoded
		}},
		{name: "a user id over 255 bytes", given: []Option{UserID(strings.Repeat("u", 256))}, wantErr: "at most 255"},
		{name: "negative expiration", given: []Option{Expiration(-time.Second)}, wantErr: "must not be negative"},
		{name: "header of an unknown type", given: []Option{Headers(amqp.Table{"x": struct{}{}})}, wantErr: "Headers"},
		{name: "nil option", given: []Option{nil}, wantErr: "nil publish option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(Config{Publishers: 1, MaxWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			// Options are applied before anything waits: a bad one fails at once.
			err = p.Publish(context.Background(), "x", "k", nil, tt.given...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			r := publishRequest{msg: amqp.Publishing{ContentType: DefaultContentType}}
			for _, o := range tt.given {
				if err := o(&r); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.want(r) {
				t.Fatalf("request = %+v", r)
			}
		})
	}
}

func TestNewPool_DefaultsAndNegatives(t *testing.T) {
	p, err := NewPool(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Config(); s.Publishers != DefaultPublishers || s.Buffer != DefaultBuffer || s.MaxWait != DefaultMaxWait || s.ConfirmTimeout != DefaultConfirmTimeout {
		t.Fatalf("spec = %+v", s)
	}
	if _, err := NewPool(Config{Buffer: -1}); err == nil {
		t.Fatal("negative buffer accepted")
	}
}

// With no channel, publishes wait in the buffer up to MaxWait; one past
// the buffer fails at once; the pool's Stop ends the wait.
func TestPool_BufferWithoutChannel(t *testing.T) {
	p, err := NewPool(Config{Publishers: 2, Buffer: 2, MaxWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a wait past MaxWait fails naming it", func(t *testing.T) {
		start := time.Now()
		err := p.Publish(context.Background(), "x", "k", []byte("{}"))
		if !errors.Is(err, ErrNoChannel) || !strings.Contains(err.Error(), "maximum of 300ms") {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Fatalf("gave up after %v, before MaxWait", took)
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Exchange != "x" || pe.RoutingKey != "k" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("a ctx ending first fails with both reasons", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := p.Publish(ctx, "x", "k", nil)
		if !errors.Is(err, ErrNoChannel) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a full buffer fails at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- p.Publish(context.Background(), "x", "k", nil)
			}()
		}
		// The two must be waiting before the third comes; the pool's count
		// of waiters has no change signal, so it is polled.
		testkit.Poll(t, 2*time.Second, "two publishes waiting", func() bool { return p.wait.Load() == 2 })
		// At once: refused without joining the waiters, so not ended by
		// MaxWait (ErrNoChannel) and with the two still the only ones.
		err := p.Publish(context.Background(), "x", "k", nil)
		if !errors.Is(err, ErrBufferFull) || errors.Is(err, ErrNoChannel) || p.wait.Load() != 2 {
			t.Fatalf("third publish = %v with %d waiting; want ErrBufferFull at once, two waiting", err, p.wait.Load())
		}
		p.Stop()
		wg.Wait()
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrStopped) {
				t.Fatalf("waiting publish after stop = %v", err)
			}
		}
		if err := p.Publish(context.Background(), "x", "k", nil); !errors.Is(err, ErrStopped) {
			t.Fatalf("publish after stop = %v", err)
		}
		var dropped uint64
		var buffered int64
		for _, l := range p.lanes {
			dropped += l.dropped.Load()
			buffered += l.buffered.Load()
		}
		if buffered != 0 || p.wait.Load() != 0 {
			t.Fatalf("buffered %d, waiting %d after all returned", buffered, p.wait.Load())
		}
		if dropped < 3 { // two expired waits above and the refused one
			t.Fatalf("dropped = %d", dropped)
		}
	})
}

// A return is matched to the confirmed mandatory publish of its MessageId,
// whether it still sits in the chan or was drained already; returns nobody
// waits for are only counted.
func TestPublisherLane_MatchesReturnsByMessageID(t *testing.T) {
	p, _ := NewPool(Config{Publishers: 1})
	l := p.lanes[0]
	returns := make(chan amqp.Return, 8)
	l.expect("a")
	l.expect("b")
	returns <- amqp.Return{MessageId: "a", ReplyCode: 312, ReplyText: "NO_ROUTE"}
	returns <- amqp.Return{MessageId: "stray"}
	if _, ok := l.settle(returns, "b"); ok {
		t.Fatal("b reported returned")
	}
	returns <- amqp.Return{MessageId: "other"}
	l.drain(returns) // as the actor's tick does
	ret, ok := l.settle(returns, "a")
	if !ok || ret.ReplyCode != 312 {
		t.Fatalf("a: %+v, %v", ret, ok)
	}
	if l.returned.Load() != 3 || len(l.retWait) != 0 || len(l.retGot) != 0 {
		t.Fatalf("returned %d, waiting %v, kept %v", l.returned.Load(), l.retWait, l.retGot)
	}
	err := error(&ReturnedError{MessageID: "a", Code: 312, Text: "NO_ROUTE"})
	if !errors.Is(err, ErrReturned) || !strings.Contains(err.Error(), "312 NO_ROUTE") {
		t.Fatalf("err = %v", err)
	}
}

// A confirm that never comes fails after ConfirmTimeout, checked on the
// ticks of the pool's clock; a ctx ending first fails naming it.
func TestPool_ConfirmWaitIsBounded(t *testing.T) {
	p, _ := NewPool(Config{Publishers: 1, ConfirmTimeout: 200 * time.Millisecond})
	l := p.lanes[0]
	st := &laneState{status: "ready", c: &laneChannel{}}
	never := &amqp.DeferredConfirmation{} // its Done chan is nil: it never resolves
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				p.tick()
			}
		}
	}()
	start := time.Now()
	err := p.await(context.Background(), written{l, st, never}, &publishRequest{confirm: true}, "x", "k", time.Time{})
	if !errors.Is(err, ErrNotConfirmed) || !strings.Contains(err.Error(), "no confirm within 200ms") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("gave up after %v, before ConfirmTimeout", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.await(ctx, written{l, st, never}, &publishRequest{confirm: true}, "x", "k", time.Time{}); !errors.Is(err, ErrNotConfirmed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if l.unconfirmed.Load() != 2 {
		t.Fatalf("unconfirmed = %d", l.unconfirmed.Load())
	}
}
