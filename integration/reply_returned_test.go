package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// replyResult is what a responder's Reply returned and how long it took.
type replyResult struct {
	err  error
	took time.Duration
}

// On RabbitMQ, replies are mandatory and confirmed: a reply to a live
// direct reply-to is confirmed at once, a reply to a reply queue that does
// not exist fails with ErrReplyReturned naming it and is counted, and a
// reply to a direct reply-to whose requester is gone comes back within
// the handler's ctx (its outcome logged: RabbitMQ's behaviour, not ours).
func TestReply_MandatoryAndConfirmedOnRabbitMQ(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	results := make(chan replyResult, 4)
	gate := make(chan struct{}, 4)
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "answers", Queue: listener.QueueSpec{Name: "answers-q"}, Defaults: listener.Defaults{AppName: "it", AppVersion: "1"},
		Handlers: []listener.Route{{Handler: func(ctx context.Context, d *listener.Delivery) error {
			if d.Envelope.Text("Wait") == "yes" {
				<-gate
			}
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			start := time.Now()
			err := d.Reply(ctx, map[string]any{"Event-Category": "x", "Event-Name": "resp"})
			results <- replyResult{err, time.Since(start)}
			return nil
		}}}})

	// A live direct reply-to.
	req := dial(t, b.URI(), "requester", 10*time.Second)
	ch, err := req.Channel()
	if err != nil {
		t.Fatal(err)
	}
	replies, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	pubReq := func(ch *amqp.Channel, replyTo, msgID, extra string) {
		t.Helper()
		if err := ch.PublishWithContext(within(t, 5*time.Second), "", "answers-q", false, false, amqp.Publishing{
			ContentType: "application/json", ReplyTo: replyTo, CorrelationId: msgID,
			Body: []byte(`{"Event-Category":"x","Event-Name":"req","Msg-ID":"` + msgID + `"` + extra + `}`)}); err != nil {
			t.Fatal(err)
		}
	}
	pubReq(ch, "amq.rabbitmq.reply-to", "m1", "")
	if r := recv(t, results, 15*time.Second, "reply m1"); r.err != nil || r.took > 2*time.Second {
		t.Fatalf("reply to a live direct reply-to: %v after %v", r.err, r.took)
	}
	recv(t, replies, 5*time.Second, "the reply on direct reply-to")

	// A reply queue that does not exist.
	pubReq(ch, "gone-q", "m2", "")
	if r := recv(t, results, 15*time.Second, "reply m2"); !errors.Is(r.err, listener.ErrReplyReturned) || !strings.Contains(r.err.Error(), `"gone-q"`) {
		t.Fatalf("reply to a missing queue: %v, want ErrReplyReturned naming gone-q", r.err)
	}
	waitListener(t, tree, pid.Id, 10*time.Second, "one reply returned", func(l registry.Listener) bool { return l.RepliesReturned == 1 })

	// A direct reply-to whose requester left before the reply.
	pubReq(ch, "amq.rabbitmq.reply-to", "m3", `,"Wait":"yes"`)
	waitListener(t, tree, pid.Id, 10*time.Second, "m3 in its handler", func(l registry.Listener) bool { return l.InFlight == 1 })
	if err := req.Close(); err != nil {
		t.Fatal(err)
	}
	gate <- struct{}{}
	r := recv(t, results, 15*time.Second, "reply m3")
	if r.took > 11*time.Second {
		t.Fatalf("reply to a gone direct reply-to took %v", r.took)
	}
	t.Logf("RabbitMQ %s, reply to a direct reply-to whose requester is gone: %v after %v", "3.10", r.err, r.took.Round(time.Millisecond))
}
