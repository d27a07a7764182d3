package integration

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// rawResponder answers every request on queue: to its reply-to with its
// correlation id when it has one, else the Kazoo way (targeted, Server-ID),
// echoing Msg-ID either way.
func rawResponder(b *testing.B, broker *Broker, queue string) {
	ch := rawChannel(b, broker)
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		b.Fatal(err)
	}
	reqs, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for d := range reqs {
			var req map[string]any
			if json.Unmarshal(d.Body, &req) != nil {
				continue
			}
			resp, _ := json.Marshal(map[string]any{"Event-Category": "bench", "Event-Name": "resp", "Msg-ID": req["Msg-ID"],
				"App-Name": "bench", "App-Version": "1"})
			pub := amqp.Publishing{ContentType: "application/json", CorrelationId: d.CorrelationId, Body: resp}
			if d.ReplyTo != "" {
				_ = ch.Publish("", d.ReplyTo, false, false, pub)
			} else if sid, ok := req["Server-ID"].(string); ok {
				_ = ch.Publish("targeted", sid, false, false, pub)
			}
		}
	}()
}

func percentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

// BenchmarkRPC measures sequential request/reply round trips against one
// raw responder on the same broker in the same run: raw amqp091-go with
// direct reply-to, Warren's Call with direct reply-to, and Warren's Call the
// Kazoo way (reply queue bound to targeted).
func BenchmarkRPC(b *testing.B) {
	broker := StartBroker(b)
	rawResponder(b, broker, "rpc-bench")
	body := []byte(`{"Event-Category":"bench","Event-Name":"req","Msg-ID":"x","App-Name":"bench","App-Version":"1"}`)

	b.Run("raw-amqp091-direct-reply-to", func(b *testing.B) {
		ch := rawChannel(b, broker)
		replies, err := ch.Consume(rpc.DirectReplyTo, "", true, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			corr := kazoo.NewMsgID()
			_ = i
			if err := ch.Publish("", "rpc-bench", false, false, amqp.Publishing{ContentType: "application/json",
				ReplyTo: rpc.DirectReplyTo, CorrelationId: corr, Body: body}); err != nil {
				b.Fatal(err)
			}
			for d := range replies {
				if d.CorrelationId == corr {
					break
				}
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		percentiles(b, lat)
	})

	tree, _ := treetest.Start(b, oneZone(broker.URI()))
	waitReady(b, tree, 20*time.Second)
	for _, bc := range []struct {
		name   string
		direct bool
	}{{"warren-call-direct-reply-to", true}, {"warren-call-kazoo-targeted", false}} {
		b.Run(bc.name, func(b *testing.B) {
			req := rpc.Request{Exchange: "", RoutingKey: "rpc-bench", DirectReply: bc.direct,
				Envelope: kazoo.Envelope{"Event-Category": "bench", "Event-Name": "req"}, Defaults: kazoo.Defaults{AppName: "bench", AppVersion: "1"}}
			ctx := context.Background()
			if _, err := tree.Call(ctx, req); err != nil { // warm up: workers ready
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, err := tree.Call(ctx, req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, lat)
		})
	}
}
