package listener_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// A reply to a reply queue that does not exist, or to a Server-ID no queue
// is bound to on "targeted", used to be dropped by the broker without a
// word. Replies are mandatory and confirmed: Reply fails with
// ErrReplyReturned naming the missing queue, the listener's row counts it,
// and a reply to a queue that exists still arrives.
func TestDelivery_ReplyToMissingQueueFails(t *testing.T) {
	for _, tt := range []struct {
		name        string
		noPublisher bool
	}{
		{"through the publishers", false},
		{"on the listener's own channel", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mod func(*supervisor.Config)
			if tt.noPublisher {
				mod = noPublishers
			}
			r := start(t, mod)
			ch := rawChannel(t, r.nb)
			if _, err := ch.QueueDeclare("live-replies", false, false, true, false, nil); err != nil {
				t.Fatal(err)
			}
			live, err := ch.Consume("live-replies", "", true, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan replyErr, 8)
			pid, _ := spawn(t, r.tree, responder("responder", errs))

			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "application/json", ReplyTo: "gone-replies", CorrelationId: "c-1",
				Body: []byte(event("directory", "authn_req", "m1"))})
			e := recv(t, errs, 5*time.Second, "reply m1")
			if !errors.Is(e.err, listener.ErrReplyReturned) || !strings.Contains(e.err.Error(), `"gone-replies"`) {
				t.Fatalf("reply to a missing reply queue: %v, want ErrReplyReturned naming gone-replies", e.err)
			}
			publishJSON(t, ch, "", "responder-q", event("directory", "authn_req", "m2", `"Server-ID":"srv-gone"`))
			e = recv(t, errs, 5*time.Second, "reply m2")
			if !errors.Is(e.err, listener.ErrReplyReturned) || !strings.Contains(e.err.Error(), `"targeted"`) || !strings.Contains(e.err.Error(), `"srv-gone"`) {
				t.Fatalf("reply to a Server-ID without queue: %v, want ErrReplyReturned naming targeted and srv-gone", e.err)
			}
			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "application/json", ReplyTo: "live-replies", CorrelationId: "c-3",
				Body: []byte(event("directory", "authn_req", "m3"))})
			if e := recv(t, errs, 5*time.Second, "reply m3"); e.err != nil {
				t.Fatalf("reply to a live queue: %v", e.err)
			}
			if d := recv(t, live, 5*time.Second, "the reply on live-replies"); d.CorrelationId != "c-3" {
				t.Fatalf("reply %+v", d)
			}
			waitRow(t, r.tree, pid.Id, "two replies returned", func(l registry.Listener) bool { return l.RepliesReturned == 2 })
		})
	}
}
