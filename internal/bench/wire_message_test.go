package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
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
	_, tree, ch, q, deliveries := wireRig(t)
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

// wireRig starts a null broker and a tree on it, and declares a queue that
// a raw channel consumes: what each side sends to it arrives on the chan.
func wireRig(t *testing.T) (*nullbroker.Server, *supervisor.Tree, *amqp.Channel, amqp.Queue, <-chan amqp.Delivery) {
	t.Helper()
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
	return nb, tree, ch, q, deliveries
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

// TestRawKazooRequest_IsTheRequestWarrenWrites: a raw caller of the RPC
// scenarios sends the request Tree.Call puts on the wire, over direct
// reply-to and Kazoo's targeted path: the same properties set, the same
// envelope keys, a body as long within a few bytes (the Server-IDs differ).
func TestRawKazooRequest_IsTheRequestWarrenWrites(t *testing.T) {
	nb, tree, _, q, requests := wireRig(t)
	caller := testkit.AMQPChannel(t, nb.URL()) // consuming direct reply-to, as a raw caller does before it publishes
	if _, err := caller.Consume(rpc.DirectReplyTo, "", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name              string
		direct            bool
		serverID, replyTo string
	}{
		{"direct reply-to", true, rawServerID, rpc.DirectReplyTo},
		{"targeted", false, "rawbench@localhost_worker-targeted-1-0123abcd", ""},
	} {
		req := benchRequest(q.Name)
		req.DirectReply = tc.direct
		ctx, cancel := context.WithCancel(context.Background())
		called := make(chan struct{})
		go func() { defer close(called); _, _ = tree.Call(ctx, req) }() // nobody answers: ended below
		warren := testkit.Recv(t, requests, 10*time.Second, tc.name+": Warren's request")
		cancel()
		testkit.Recv(t, called, 10*time.Second, tc.name+": the call ended")
		_, raw, err := rawKazooRequest(tc.serverID, tc.replyTo)
		if err != nil {
			t.Fatal(err)
		}
		if err := caller.PublishWithContext(testkit.Within(t, 5*time.Second), "", q.Name, true, false, raw); err != nil {
			t.Fatal(err)
		}
		got := testkit.Recv(t, requests, 10*time.Second, tc.name+": the raw request")
		if w, r := requestShape(warren), requestShape(got); w != r {
			t.Errorf("%s: raw requests\n  %s\nWarren\n  %s", tc.name, r, w)
		}
		if d := len(got.Body) - len(warren.Body); d < -16 || d > 16 {
			t.Errorf("%s: the raw request's body is %d bytes, Warren's %d: %s", tc.name, len(got.Body), len(warren.Body), warren.Body)
		}
	}
}

// requestShape is wireShape without the body's length, with the
// envelope's keys and whether the correlation id is the Msg-ID.
func requestShape(d amqp.Delivery) string {
	var env map[string]any
	_ = json.Unmarshal(d.Body, &env)
	keys := slices.Sorted(maps.Keys(env))
	shape := wireShape(d)
	return fmt.Sprintf("%s envelope %v correlation-id is the Msg-ID %v", shape[:strings.LastIndex(shape, ",")], keys, env["Msg-ID"] == d.CorrelationId)
}
