package publish_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
)

// BenchmarkPublish measures the client's cost of one publish through the
// pool on internal/nullbroker (in this process: its CPU counts too), with
// allocations: fire-and-forget from one goroutine (also without the
// default timestamp, and gzipping a 4 KiB body), deferred confirms from
// one goroutine keeping 64 in flight, confirmed from 64 goroutines.
func BenchmarkPublish(b *testing.B) {
	nb := startNull(b, nullbroker.Config{})
	tree := pubTree(b, nb, publish.Config{})
	body := make([]byte, 256)
	ctx, cancel := context.WithCancel(context.Background()) // as a service's: it can end
	defer cancel()
	b.Run("fire-and-forget", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := tree.Publish(ctx, "amq.fanout", "", body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fire-and-forget-unstamped", func(b *testing.B) { // without the default timestamp: what amqp091 spends encoding it
		unstamped := publish.Timestamp(time.Time{}) // made once: a closure holding a time.Time is an allocation
		b.ReportAllocs()
		for b.Loop() {
			if err := tree.Publish(ctx, "amq.fanout", "", body, unstamped); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fire-and-forget-gzip-4k", func(b *testing.B) { // a 4 KiB JSON body compressed (to some 200 bytes)
		event := bytes.Repeat([]byte(`{"Event-Category":"call_event","Event-Name":"CHANNEL_CREATE"}`), 68)
		b.ReportAllocs()
		for b.Loop() {
			if err := tree.Publish(ctx, "amq.fanout", "", event, publish.Gzip()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-fire-and-forget", func(b *testing.B) { // amqp091 alone, for comparison
		ch := rawBenchChannel(b, nb)
		b.ReportAllocs()
		for b.Loop() {
			if err := ch.PublishWithContext(ctx, "amq.fanout", "", false, false,
				amqp.Publishing{ContentType: publish.DefaultContentType, Body: body}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-deferred-window-64", func(b *testing.B) {
		ch := rawBenchChannel(b, nb)
		if err := ch.Confirm(false); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		var window []*amqp.DeferredConfirmation
		for b.Loop() {
			if len(window) == 64 {
				if ok, err := window[0].WaitContext(ctx); !ok || err != nil {
					b.Fatal(ok, err)
				}
				window = window[1:]
			}
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "amq.fanout", "", false, false,
				amqp.Publishing{ContentType: publish.DefaultContentType, Body: body})
			if err != nil {
				b.Fatal(err)
			}
			window = append(window, dc)
		}
		for _, dc := range window {
			dc.Wait()
		}
	})
	b.Run("deferred-window-64", func(b *testing.B) {
		b.ReportAllocs()
		var window []*publish.Pending
		for b.Loop() {
			if len(window) == 64 {
				if err := window[0].Wait(ctx); err != nil {
					b.Fatal(err)
				}
				window = window[1:]
			}
			pd, err := tree.PublishDeferred(ctx, "amq.fanout", "", body)
			if err != nil {
				b.Fatal(err)
			}
			window = append(window, pd)
		}
		for _, pd := range window {
			if err := pd.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-confirmed-64", func(b *testing.B) { // amqp091 alone: 64 goroutines sharing a confirm-mode channel
		ch := rawBenchChannel(b, nb)
		if err := ch.Confirm(false); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		fromCallers(b, 64, func() error {
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "amq.fanout", "", false, false,
				amqp.Publishing{ContentType: publish.DefaultContentType, Body: body})
			if err == nil && !dc.Wait() {
				err = errors.New("nacked")
			}
			return err
		})
	})
	b.Run("confirmed-64", func(b *testing.B) {
		b.ReportAllocs()
		fromCallers(b, 64, func() error { return tree.Publish(ctx, "amq.fanout", "", body, publish.Confirm()) })
	})
}

// fromCallers runs one b.N times in all from callers goroutines at once;
// an error fails the benchmark and ends its goroutine.
func fromCallers(b *testing.B, callers int, one func() error) {
	var wg sync.WaitGroup
	per := b.N/callers + 1
	for range callers {
		wg.Go(func() {
			for range per {
				if err := one(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// rawBenchChannel is a channel of a plain amqp091 connection to nb, closed
// with the benchmark.
func rawBenchChannel(b *testing.B, nb *nullbroker.Server) *amqp.Channel {
	return testkit.AMQPChannel(b, nb.URL())
}
