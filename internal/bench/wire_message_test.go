package bench

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// TestRawPublishing_IsTheMessageWarrenWrites: the raw side of the publish
// scenarios puts on the wire the message Warren's side does, fire-and-forget
// and confirmed: the same properties set, a message id as long, the same
// body. A default Warren adds to its publishes shows here first.
func TestRawPublishing_IsTheMessageWarrenWrites(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	tree, _ := treetest.Start(t, supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}})
	treetest.WaitReady(t, tree, 10*time.Second)
	ch := testkit.AMQPChannel(t, nb.URL())
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Within(t, 10*time.Second)
	next := func(what string) string { return wireShape(testkit.Recv(t, deliveries, 10*time.Second, what)) }

	if err := tree.Publish(ctx, "", q.Name, body); err != nil {
		t.Fatal(err)
	}
	warrenPlain := next("Warren's fire-and-forget publish")
	if err := ch.PublishWithContext(ctx, "", q.Name, false, false, rawPublishing(false)); err != nil {
		t.Fatal(err)
	}
	if raw := next("the raw fire-and-forget publish"); raw != warrenPlain {
		t.Errorf("fire-and-forget: raw publishes\n  %s\nWarren\n  %s", raw, warrenPlain)
	}

	if err := tree.Publish(ctx, "", q.Name, body, publish.Confirm()); err != nil {
		t.Fatal(err)
	}
	warrenConfirmed := next("Warren's confirmed publish")
	if err := ch.PublishWithContext(ctx, "", q.Name, false, false, rawPublishing(true)); err != nil {
		t.Fatal(err)
	}
	if raw := next("the raw confirmed publish"); raw != warrenConfirmed {
		t.Errorf("confirmed: raw publishes\n  %s\nWarren\n  %s", raw, warrenConfirmed)
	}
	if warrenConfirmed == warrenPlain {
		t.Errorf("Warren's confirmed publish looks like its fire-and-forget one (%s): the comparison shows nothing", warrenPlain)
	}
}

// wireShape describes which properties d carries (and the length of its
// message id), not their values: a timestamp or id differs every publish.
func wireShape(d amqp.Delivery) string {
	set := func(v string) bool { return v != "" }
	return fmt.Sprintf("content-type %q encoding %q delivery-mode %d priority %d correlation-id %v reply-to %v expiration %v "+
		"message-id of %d bytes timestamp %v type %v user-id %v app-id %v headers %d, body %d bytes",
		d.ContentType, d.ContentEncoding, d.DeliveryMode, d.Priority, set(d.CorrelationId), set(d.ReplyTo), set(d.Expiration),
		len(d.MessageId), !d.Timestamp.IsZero(), set(d.Type), set(d.UserId), set(d.AppId), len(d.Headers), len(d.Body))
}
