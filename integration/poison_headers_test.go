package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// nestedHeaders returns headers whose innermost table is depth tables below
// them. amqp091-go writes any depth but reads 32 at most: a deeper one is a
// frame error (502) that closes the connection reading it.
func nestedHeaders(depth int) amqp.Table {
	t := amqp.Table{}
	for range depth {
		t = amqp.Table{"a": t}
	}
	return t
}

// A message whose headers nest 33 tables deep, among good ones, on a real
// node: it costs itself only. The poisoned listener dead-letters it to
// <queue>_error with the reason and handles the others; a second listener
// on the same connection keeps consuming; the connection never drops (1
// connect). Before Warren's frame filter, amqp091 closed the connection on
// the poison's content header and RabbitMQ redelivered it to the next one,
// forever.
func TestPoison_HeadersNestedTooDeepCostTheMessageOnly(t *testing.T) {
	b := StartBroker(t)
	checkPoisonHeaders(t, b, oneZone(b.URI()))
}

// The same over amqps: the filter reads the frames under TLS, which Warren
// then does itself.
func TestPoison_HeadersNestedTooDeepCostTheMessageOnly_TLS(t *testing.T) {
	certs := GenerateTLS(t)
	b := StartBroker(t, WithTLS(certs))
	cfg := oneZone(b.TLSURI())
	cfg.Connection.CACertFile = certs.CACert
	cfg.Connection.CertFile = certs.ClientCert
	cfg.Connection.KeyFile = certs.ClientKey
	checkPoisonHeaders(t, b, cfg)
}

func checkPoisonHeaders(t *testing.T, b *Broker, cfg supervisor.Config) {
	tree, logs := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id, err := actors.BrokerID(cfg.Zones[0].Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 64)
	handler := func(_ context.Context, d *listener.Delivery) error {
		handled <- d.MessageID
		return nil
	}
	deep, _ := spawnListener(t, tree, listener.Spec{Name: "deep", Queue: listener.QueueSpec{Name: "deep", Durable: true},
		Handlers: []listener.Route{{Handler: handler}}})
	other, _ := spawnListener(t, tree, listener.Spec{Name: "bystander", Queue: listener.QueueSpec{Name: "bystander", Durable: true},
		Handlers: []listener.Route{{Handler: handler}}})
	ch := rawChannel(t, b)
	send := func(queue, msgID string, headers amqp.Table) {
		t.Helper()
		err := ch.PublishWithContext(within(t, 5*time.Second), "", queue, false, false, amqp.Publishing{ContentType: "application/json",
			MessageId: msgID, Headers: headers, DeliveryMode: amqp.Persistent, Body: []byte(event("order", "created", `,"Id":"`+msgID+`"`))})
		if err != nil {
			t.Fatal(err)
		}
	}
	const good = 10
	for i := range good {
		if i == good/2 {
			send("deep", "poison", nestedHeaders(33))
		}
		send("deep", fmt.Sprintf("deep-%d", i), amqp.Table{"tenant": "acme"})
		send("bystander", fmt.Sprintf("other-%d", i), nil)
	}
	published := time.Now()
	t.Cleanup(func() {
		if t.Failed() { // the figure of the table: reconnects while the poison was in the queue
			c, _ := tree.Registry().Connection(id)
			t.Logf("connection %s: %d connects in %v since the poison was published; last error %q",
				id, c.Connects, time.Since(published).Round(time.Second), c.LastError)
		}
	})
	row := waitListener(t, tree, deep.Id, 30*time.Second, "the good ones acked, the poison dead-lettered", func(l registry.Listener) bool {
		return l.Acked == good && l.DeadLettered == 1 && l.InFlight == 0
	})
	if row.Rejected != 1 || row.Errors != 0 || row.State != registry.ListenerConsuming {
		t.Fatalf("deep row %+v", row)
	}
	waitListener(t, tree, other.Id, 20*time.Second, "all acked", func(l registry.Listener) bool { return l.Acked == good })
	seen := map[string]bool{}
	for range 2 * good {
		seen[recv(t, handled, 5*time.Second, "a good message")] = true
	}
	if seen["poison"] {
		t.Fatal("a handler ran on the poison message")
	}
	testkit.Poll(t, 10*time.Second, "deep empty, deep_error holds the poison", func() bool {
		return queueCountsOf(t, b, "deep") == "0 0" && queueCountsOf(t, b, "deep_error") == "1 0"
	})
	d, ok, err := ch.Get("deep_error", true)
	if err != nil || !ok {
		t.Fatalf("get from deep_error: ok %v, err %v", ok, err)
	}
	if e, _ := d.Headers["x-warren-error"].(string); !strings.Contains(e, "nested deeper than 32 levels") {
		t.Fatalf("x-warren-error %q does not say why", e)
	}
	if d.Headers[actors.DroppedHeadersHeader] == nil || d.Headers["x-warren-queue"] != "deep" || d.MessageId != "poison" {
		t.Fatalf("dead letter %+v", d)
	}
	if c, _ := tree.Registry().Connection(id); c.Connects != 1 || c.State != registry.Connected {
		t.Fatalf("connection %s: %d connects, state %v, last error %q; want 1, connected", id, c.Connects, c.State, c.LastError)
	}
	if !strings.Contains(logs.String(), "unreadable headers dead-lettered") || !strings.Contains(logs.String(), "queue=deep") {
		t.Error("the log does not say, with the queue, that the poison was dead-lettered for its headers")
	}
	t.Logf("poison dead-lettered %v after it was published; 1 connect; handled %d good messages on 2 listeners",
		time.Since(published).Round(time.Millisecond), len(seen))
}
