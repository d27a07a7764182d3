package integration

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/registry"
)

// A configured exchange that another client declared with other flags
// (Kamailio's kazoo_subscribe makes its exchange auto-delete) is reported on
// that exchange; the connection, and everything else on it, stays up.
func TestFault_ConflictingConfiguredExchangeKeepsTheConnectionUp(t *testing.T) {
	b := StartBroker(t)
	raw, err := amqp.Dial(b.URI())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ch, err := raw.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("warren.conflict", "direct", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	cfg := oneZone(b.URI())
	cfg.Exchanges = []actors.Exchange{
		{Name: "warren.conflict", Kind: "topic", Durable: true},
		{Name: "warren.fine", Kind: "topic"},
		{Name: "targeted", Kind: "direct"},
	}
	tree, logs := startTree(t, cfg)
	waitReady(t, tree, 30*time.Second)
	row := waitConn(t, tree, brokerID(t, b), 10*time.Second, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
	if len(row.ExchangeErrors) != 1 || !strings.Contains(row.ExchangeErrors[0], "warren.conflict") ||
		!strings.Contains(row.ExchangeErrors[0], "PRECONDITION_FAILED") {
		t.Fatalf("exchange errors %q: want the refusal of warren.conflict only", row.ExchangeErrors)
	}
	if !strings.Contains(logs.String(), "warren.conflict") {
		t.Error("the refused exchange is not in the logs")
	}
	// The exchanges after the refused one were declared, and publishing works.
	if n := ctlCount(t, b, "warren.fine", "list_exchanges", "name"); n != 1 {
		t.Fatalf("warren.fine declared %d times on the broker, want 1", n)
	}
	if err := tree.Publish(within(t, 10*time.Second), "warren.fine", "k", []byte(`{}`), publish.Confirm()); err != nil {
		t.Fatalf("a confirmed publish to a fine exchange: %v", err)
	}
}
