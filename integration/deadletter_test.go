package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// queueCountsOf is "ready unacked" of queue q as rabbitmqctl lists it, or
// "missing".
func queueCountsOf(t testing.TB, b *Broker, q string) string {
	t.Helper()
	for _, line := range strings.Split(b.Ctl(t, "list_queues", "name", "messages_ready", "messages_unacknowledged", "--quiet", "--no-table-headers"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == q {
			return f[1] + " " + f[2]
		}
	}
	return "missing"
}

// A poison message among good ones, on a real node: the good ones are
// handled and acked, the poison is run three times (the default Attempts),
// then ends in "<queue>_error" with the contract's headers; the queue is
// left empty.
func TestListener_PoisonMessageEndsInTheErrorQueue(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	good := make(chan string, 16)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "orders", Queue: listener.QueueSpec{Name: "orders", Durable: true},
		Bindings: []listener.Binding{{Exchange: "shop", RoutingKey: "order.#", Declare: true, Kind: "topic", Durable: true}},
		Retry:    listener.RetryPolicy{Backoff: 10 * time.Millisecond},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			if d.Envelope.Name() == "poison" {
				return errors.New("cannot parse order total")
			}
			good <- d.Envelope.MsgID()
			return nil
		}}}})
	ch := rawChannel(t, b)
	for i := range 6 {
		name, key := "created", fmt.Sprintf("order.%d", i)
		if i == 3 {
			name = "poison"
		}
		err := ch.PublishWithContext(within(t, 5*time.Second), "shop", key, false, false, amqp.Publishing{ContentType: "application/json",
			MessageId: "id-" + key, Headers: amqp.Table{"tenant": "acme"}, Body: []byte(event("order", name, fmt.Sprintf(`,"N":%d`, i)))})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		recv(t, good, 10*time.Second, "a good order")
	}
	row := waitListener(t, tree, pid.Id, 15*time.Second, "poison dead-lettered", func(l registry.Listener) bool {
		return l.DeadLettered == 1 && l.Acked == 5 && l.InFlight == 0
	})
	if row.Retried != 2 || row.Errors != 1 || row.Nacked != 0 {
		t.Fatalf("row %+v", row)
	}
	testkit.Poll(t, 10*time.Second, "orders empty, orders_error holds the poison", func() bool {
		return queueCountsOf(t, b, "orders") == "0 0" && queueCountsOf(t, b, "orders_error") == "1 0"
	})
	d, ok, err := ch.Get("orders_error", false)
	if err != nil || !ok {
		t.Fatalf("get from orders_error: ok %v, err %v", ok, err)
	}
	h := d.Headers
	want := map[string]any{"x-warren-listener": "orders", "x-warren-queue": "orders", "x-warren-attempts": int32(3),
		"x-warren-original-exchange": "shop", "x-warren-original-routing-key": "order.3", "x-warren-broker": brokerID(t, b),
		"x-warren-error": "cannot parse order total", "tenant": "acme"}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %#v (%T), want %#v", k, h[k], h[k], v)
		}
	}
	if at, ok := h["x-warren-failed-at"].(time.Time); !ok || time.Since(at) > time.Minute {
		t.Errorf("x-warren-failed-at = %#v", h["x-warren-failed-at"])
	}
	if d.MessageId != "id-order.3" || !strings.Contains(string(d.Body), `"poison"`) || d.DeliveryMode != amqp.Persistent {
		t.Errorf("dead letter %+v", d)
	}
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	if q := queueCountsOf(t, b, "orders_error"); q != "0 0" {
		t.Fatalf("orders_error after the ack: %s", q)
	}
	if n := ctlCount(t, b, "orders_error\ttrue", "list_queues", "name", "durable"); n != 1 {
		t.Fatalf("orders_error is not durable")
	}
}
