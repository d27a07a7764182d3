package rpc_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
)

// gzipPeer is a Kazoo-like responder on a raw amqp091 connection: it
// answers every request on callmgr/key with a gzipped reply (to "targeted"
// and the request's Server-ID, or to its AMQP reply-to), preceded by a
// gzip bomb carrying the same Msg-ID when bombFirst. It sends the AMQP
// timestamp of each request to stamps (when not nil).
func gzipPeer(t *testing.T, url, key string, bombFirst bool, reply kazoo.Envelope, stamps chan<- time.Time) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, _ := conn.Channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, key, "callmgr", false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	bomb := bytes.Repeat(kazoo.Gzip(make([]byte, 1<<20)), 17) // 17 MiB once inflated
	go func() {
		for d := range deliveries {
			if stamps != nil {
				stamps <- d.Timestamp
			}
			req, err := kazoo.Parse(d.Body)
			if err != nil {
				continue
			}
			exchange, rk, _ := req.ReplyTo()
			corr := ""
			if d.ReplyTo != "" {
				exchange, rk, corr = "", d.ReplyTo, d.CorrelationId
			}
			env, err := kazoo.NewReply(req, reply, kazoo.Defaults{AppName: "gz-peer", AppVersion: "1"})
			if err != nil {
				continue
			}
			body, _ := env.Marshal()
			if bombFirst {
				_ = ch.PublishWithContext(context.Background(), exchange, rk, false, false, amqp.Publishing{
					ContentType: "application/json", ContentEncoding: "gzip", CorrelationId: corr,
					Body: bytes.Clone(bomb)})
			}
			_ = ch.PublishWithContext(context.Background(), exchange, rk, false, false, amqp.Publishing{
				ContentType: "application/json", ContentEncoding: "gzip", CorrelationId: corr, Body: kazoo.Gzip(body)})
		}
	}()
}

// Replies gzipped by a Kazoo peer are decompressed before they are parsed,
// both the Kazoo way (matched by Msg-ID) and through direct reply-to
// (matched by correlation id, parsed by the caller); the requests are
// stamped with their time.
func TestCall_GzippedRepliesAreDecoded(t *testing.T) {
	tree, nb := rpcTree(t, 1)
	large := strings.Repeat("channel ", 5000)
	stamps := make(chan time.Time, 2)
	gzipPeer(t, nb.URL(), "ping.gz", false, kazoo.Envelope{"Event-Category": "test", "Event-Name": "gz-pong", "Large": large}, stamps)
	before := time.Now().Truncate(time.Second)

	reply, err := tree.Call(within(t, 5*time.Second), request("ping.gz"))
	if err != nil || reply.Name() != "gz-pong" || reply.Text("Large") != large {
		t.Fatalf("Call = %.80v, %v", reply, err)
	}
	req := request("ping.gz")
	req.DirectReply = true
	reply, err = tree.Call(within(t, 5*time.Second), req)
	if err != nil || reply.Name() != "gz-pong" || reply.Text("Large") != large {
		t.Fatalf("Call with direct reply-to = %.80v, %v", reply, err)
	}
	// Requests carry the time they were made, as Kazoo's publishes do.
	for range 2 {
		if ts := testkit.Recv(t, stamps, time.Second, "a request's timestamp"); ts.Before(before) || ts.After(time.Now()) {
			t.Fatalf("request timestamp %v, want the time of the call (after %v)", ts, before)
		}
	}
}

// A gzip bomb among the replies is dropped (counted late), bounded, and
// the call takes the next reply, the Kazoo way and through direct reply-to.
func TestCall_GzipBombReplyIsDroppedAlone(t *testing.T) {
	tree, nb := rpcTree(t, 1)
	gzipPeer(t, nb.URL(), "ping.bomb", true, kazoo.Envelope{"Event-Category": "test", "Event-Name": "after-bomb"}, nil)
	for i, direct := range []bool{false, true} {
		req := request("ping.bomb")
		req.DirectReply = direct
		// Inflating the bomb to its 16 MiB bound takes seconds under -race
		// on a loaded machine (6.6 s once in CI): the deadline is not what
		// this test is about.
		reply, err := tree.Call(within(t, 30*time.Second), req)
		if err != nil || reply.Name() != "after-bomb" {
			t.Fatalf("Call (direct reply-to %v) = %v, %v", direct, reply, err)
		}
		waitWorkers(t, tree, "the bomb counted late", func(rows []registry.RPCWorker) bool {
			return len(rows) == 1 && rows[0].Late == uint64(i+1)
		})
	}
}
