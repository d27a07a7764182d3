package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// These tests run `warren errors` in-process against internal/nullbroker:
// real sockets, real AMQP, no RabbitMQ node.

// errorQueueBroker starts a nullbroker with queue orders bound to
// amq.direct (key orders) and an error queue orders_error holding msgs,
// published in order with a raw amqp091 channel, which it returns.
func errorQueueBroker(t *testing.T, msgs ...amqp.Publishing) (*nullbroker.Server, *amqp.Channel) {
	t.Helper()
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ch := testkit.AMQPChannel(t, nb.URL())
	for _, q := range []string{"orders", "orders_error"} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.QueueBind("orders", "orders", "amq.direct", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "orders_error", false, false, m)
		if err != nil {
			t.Fatal(err)
		}
		if !dc.Wait() {
			t.Fatal("publish to orders_error nacked")
		}
	}
	return nb, ch
}

// failed is a message as a listener dead-letters it, sent from exchange ex
// with key (no original-exchange header when ex is "-").
func failed(id, ex, key string) amqp.Publishing {
	h := amqp.Table{hdrError: "handler: no stock", hdrListener: "orders", hdrQueue: "orders", hdrAttempts: int32(3),
		hdrOriginalKey: key, hdrFailedAt: failedAt, hdrBroker: "127.0.0.1:5672", "x-app": "shop"}
	if ex != "-" {
		h[hdrOriginalExchange] = ex
	}
	return amqp.Publishing{Headers: h, MessageId: id, ContentType: "application/json", DeliveryMode: amqp.Persistent,
		Body: []byte(`{"id":"` + id + `"}`)}
}

func queueState(t *testing.T, nb *nullbroker.Server, name string) nullbroker.QueueInfo {
	t.Helper()
	q, ok := nb.Queue(name)
	if !ok {
		t.Fatalf("queue %s is gone", name)
	}
	return q
}

// drain reads every message of queue with basic.get and returns their ids.
func drain(t *testing.T, ch *amqp.Channel, queue string) []amqp.Delivery {
	t.Helper()
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
}

func ids(ds []amqp.Delivery) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.MessageId)
	}
	return strings.Join(s, " ")
}

func errorsCLI(t *testing.T, nb *nullbroker.Server, args ...string) (int, string, string) {
	t.Helper()
	clearWarrenEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cli{}.run(t, ctx, append([]string{"errors", "--url", nb.URL(), "--wait", "5s"}, args...)...)
}

func TestErrors_ListsWithoutConsuming(t *testing.T) {
	nb, _ := errorQueueBroker(t, failed("m-1", "amq.direct", "orders"), failed("m-2", "amq.direct", "orders"), failed("m-3", "-", "orders"))
	code, stdout, stderr := errorsCLI(t, nb, "orders_error")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "#  FAILED_AT") || !strings.Contains(lines[1], "m-1") ||
		!strings.Contains(lines[2], "amq.direct  orders") || !strings.Contains(lines[3], "m-3") || !strings.Contains(lines[3], "handler: no stock") {
		t.Errorf("table:\n%s", stdout)
	}
	if !strings.Contains(stderr, "orders_error on broker "+nb.Addr()+": 3 messages, 3 listed and left in the queue") {
		t.Errorf("stderr lacks the summary:\n%s", stderr)
	}
	if q := queueState(t, nb, "orders_error"); q.Messages != 3 || q.Unacked != 0 {
		t.Fatalf("orders_error after the listing: %+v, want 3 ready", q)
	}

	code, stdout, stderr = errorsCLI(t, nb, "orders_error", "--json", "--count", "2")
	if code != exitOK {
		t.Fatalf("--json: exit %d\n%s", code, stderr)
	}
	var entries []errorEntry
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if len(entries) != 2 || entries[0].MessageID != "m-1" || entries[1].MessageID != "m-2" || compact(t, entries[0].Body) != `{"id":"m-1"}` {
		t.Errorf("--json --count 2 entries: %+v", entries)
	}
	if !strings.Contains(stderr, "(1 more past --count)") {
		t.Errorf("stderr does not say one more is there:\n%s", stderr)
	}
	if q := queueState(t, nb, "orders_error"); q.Messages != 3 || q.Unacked != 0 {
		t.Fatalf("orders_error after --json: %+v, want 3 ready", q)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	return b.String()
}

func TestErrors_AMissingQueueIsNamed(t *testing.T) {
	nb, _ := errorQueueBroker(t)
	code, stdout, stderr := errorsCLI(t, nb, "nope_error")
	if code != exitError {
		t.Fatalf("exit %d, want %d\n%s", code, exitError, stderr)
	}
	if stdout != "" || !strings.Contains(stderr, `queue "nope_error" on broker `+nb.Addr()+": 404 NOT_FOUND") || !strings.Contains(stderr, "'nope_error'") {
		t.Errorf("stdout %q\nstderr %q: want the broker's 404 naming the queue", stdout, stderr)
	}
}

func TestErrors_RequeueSendsBackWhatItCanAndLeavesTheRest(t *testing.T) {
	nb, ch := errorQueueBroker(t,
		failed("m-1", "amq.direct", "orders"),
		failed("m-2", "-", "orders"),           // no original exchange
		failed("m-3", "missing-x", "orders"),   // an exchange the broker lacks
		failed("m-4", "amq.direct", "nowhere"), // unroutable
		failed("m-5", "amq.direct", "orders"),
		failed("m-6", "amq.direct", "orders")) // past --count
	code, stdout, stderr := errorsCLI(t, nb, "orders_error", "--requeue", "--count", "5")
	if code != exitError {
		t.Fatalf("exit %d, want %d (messages left)\n%s\n%s", code, exitError, stdout, stderr)
	}
	for _, want := range []string{
		"requeued #1 (id m-1) to exchange amq.direct with key \"orders\"\n",
		"left     #2 (id m-2) in orders_error: no x-warren-original-exchange header\n",
		"left     #3 (id m-3) in orders_error: no such exchange: \"missing-x\" on broker " + nb.Addr() + ": NOT_FOUND",
		"left     #4 (id m-4) in orders_error: returned by the broker: 312 NO_ROUTE\n",
		"requeued #5 (id m-5) to exchange amq.direct with key \"orders\"\n",
		"requeued 2 of 5 messages from orders_error; 3 left in it\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "3 messages left in orders_error: #2, #3, #4\n") || !strings.Contains(stderr, "1 more in orders_error than --count 5 took") {
		t.Errorf("stderr:\n%s", stderr)
	}
	back := drain(t, ch, "orders")
	if ids(back) != "m-1 m-5" {
		t.Fatalf("orders holds %q, want m-1 m-5", ids(back))
	}
	for _, d := range back {
		if d.Headers[hdrRequeued] != int32(1) || d.Headers["x-app"] != "shop" || d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent {
			t.Errorf("%s: headers %v, content type %q, mode %d", d.MessageId, d.Headers, d.ContentType, d.DeliveryMode)
		}
		for k := range d.Headers {
			if strings.HasPrefix(k, hdrPrefix) && k != hdrRequeued {
				t.Errorf("%s still carries %s", d.MessageId, k)
			}
		}
	}
	if left := drain(t, ch, "orders_error"); ids(left) != "m-2 m-3 m-4 m-6" {
		t.Fatalf("orders_error holds %q, want m-2 m-3 m-4 m-6 in order", ids(left))
	}
}

// A broker that stops answering ends the fetch at --timeout, with an error
// that says so: the wait is cut by aborting the connection's socket.
func TestErrors_AFrozenBrokerEndsTheFetchAtTheTimeout(t *testing.T) {
	nb, _ := errorQueueBroker(t, failed("m-1", "amq.direct", "orders"))
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}, RPC: rpc.Config{Workers: -1}}
	tree, _ := treetest.Start(t, cfg)
	t.Cleanup(nb.Thaw) // before the shutdown
	treetest.WaitReady(t, tree, 10*time.Second)
	const limit = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	h, err := holdChannel(ctx, tree, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer h.release()
	nb.Freeze()
	// The error says the fetch ended at --timeout: the frozen broker
	// never answers, only the deadline can end it.
	msgs, _, err := h.fetch(ctx, "orders_error", 10)
	if err == nil || !strings.Contains(err.Error(), `queue "orders_error" on broker `+nb.Addr()+": no answer within --timeout 300ms") {
		t.Fatalf("fetch from a frozen broker = %d messages, %v; want no answer within --timeout", len(msgs), err)
	}
}
