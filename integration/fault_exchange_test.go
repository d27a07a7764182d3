package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
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
	tree, logs := treetest.Start(t, cfg)
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

// One caller's bad publishes (to a missing exchange, or above the broker's
// max_message_size) fail that caller with the reason and cost the other
// callers nothing: their confirmed publishes on the same pool all succeed,
// and no publisher channel is closed under them.
func TestFault_BadPublishCostsOnlyItsCaller(t *testing.T) {
	b := StartBroker(t, WithConfig("max_message_size = 4096"))
	cfg := oneZone(b.URI())
	cfg.Publish.MaxMessageSize = 4096
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("good-q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("good-q", "good", "kapps", false, nil); err != nil {
		t.Fatal(err)
	}
	channelsOf := func() map[string]bool { // the publishers' channels, by id
		out := map[string]bool{}
		for _, r := range tree.Registry().Publishers() {
			out[r.Channel], out[r.PlainChannel] = true, true
		}
		return out
	}
	waitPublishersReady(t, tree, 10*time.Second)
	before := channelsOf()

	const good = 300
	errs := make(chan error, good)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range good {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := tree.Publish(ctx, "kapps", "good", []byte(fmt.Sprintf(`{"n":%d}`, i)), publish.Confirm())
			cancel()
			errs <- err
		}
	}()
	for range 20 {
		err := tree.Publish(within(t, 5*time.Second), "no-such-exchange", "k", []byte(`{}`), publish.Confirm())
		if !errors.Is(err, publish.ErrNoExchange) || !strings.Contains(err.Error(), "NOT_FOUND") {
			t.Fatalf("publish to a missing exchange: %v; want ErrNoExchange with the broker's reason", err)
		}
		err = tree.Publish(within(t, 5*time.Second), "kapps", "good", make([]byte, 5000))
		if !errors.Is(err, publish.ErrTooLarge) {
			t.Fatalf("oversized publish: %v; want ErrTooLarge", err)
		}
	}
	<-done
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("another caller's confirmed publish failed: %v", err)
		}
	}
	testkit.Poll(t, 10*time.Second, "every good publish in good-q", func() bool {
		return ctlCount(t, b, "good-q\t300", "list_queues", "name", "messages") == 1
	})
	// No publisher channel was closed and replaced (the exchange checks run
	// on the connection's control channel).
	if after := channelsOf(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("publisher channels %v before, %v after: bad publishes closed channels", before, after)
	}
}
