package listener_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// replyErr is what a handler's Reply or ReplyRaw returned.
type replyErr struct {
	what string
	err  error
}

// responder is a listener that answers its requests the Kazoo way and
// reports what Reply and ReplyRaw returned.
func responder(name string, errs chan<- replyErr) listener.Spec {
	return listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name + "-q", AutoDelete: true},
		Defaults: listener.Defaults{AppName: "warren-test", AppVersion: "1.0"},
		Handlers: []listener.Route{
			{Category: "directory", Name: "authn_req", Handler: func(ctx context.Context, d *listener.Delivery) error {
				errs <- replyErr{"reply " + d.Envelope.MsgID(), d.Reply(ctx, map[string]any{
					"Event-Category": "directory", "Event-Name": "authn_resp", "Answer": 42})}
				return nil
			}},
			{Category: "noaddr", Handler: func(ctx context.Context, d *listener.Delivery) error {
				errs <- replyErr{"reply without address", d.Reply(ctx, map[string]any{"Event-Category": "x", "Event-Name": "y"})}
				errs <- replyErr{"raw reply without reply-to", d.ReplyRaw(ctx, []byte("x"), "text/plain")}
				return nil
			}},
			{Category: "nomsgid", Handler: func(ctx context.Context, d *listener.Delivery) error {
				errs <- replyErr{"reply without Msg-ID", d.Reply(ctx, map[string]any{"Event-Category": "x", "Event-Name": "y"})}
				return nil
			}},
		},
		Raw: func(ctx context.Context, d *listener.Delivery) error {
			if string(d.Body) == "json reply please" {
				errs <- replyErr{"reply to raw", d.Reply(ctx, map[string]any{"Event-Category": "x", "Event-Name": "y"})}
				return nil
			}
			errs <- replyErr{"raw reply", d.ReplyRaw(ctx, []byte("pong:"+string(d.Body)), "text/plain")}
			return nil
		},
	}
}

// Delivery.Reply and ReplyRaw follow Kazoo's rule: to the AMQP reply-to
// with the correlation id when there is one, else to "targeted" with the
// request's Server-ID; with the request's Msg-ID and the listener's
// defaults. Through the tree's publishers, or on the listener's own channel
// in a tree without them.
func TestDelivery_Reply(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  func(*supervisor.Config)
	}{
		{"through the publishers", nil},
		{"on the listener's own channel", noPublishers},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, tt.cfg)
			if _, err := r.tree.Publishers(); (err == nil) != (tt.cfg == nil) {
				t.Fatalf("publishers: %v", err)
			}
			ch := rawChannel(t, r.nb)
			for _, q := range []string{"targeted-replies", "direct-replies"} {
				if _, err := ch.QueueDeclare(q, false, false, true, false, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := ch.QueueBind("targeted-replies", "srv-1", "targeted", false, nil); err != nil {
				t.Fatal(err)
			}
			targeted, err := ch.Consume("targeted-replies", "", true, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			direct, err := ch.Consume("direct-replies", "", true, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan replyErr, 8)
			spawn(t, r.tree, responder("responder", errs))
			expect := func(what string) {
				t.Helper()
				if e := recv(t, errs, 5*time.Second, what); e.what != what || e.err != nil {
					t.Fatalf("%s: %v (from %q)", what, e.err, e.what)
				}
			}

			// reply-to wins over Server-ID.
			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "application/json", ReplyTo: "direct-replies", CorrelationId: "c-2",
				Body: []byte(event("directory", "authn_req", "m2", `"Server-ID":"srv-1"`))})
			expect("reply m2")
			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "application/json",
				Body: []byte(event("directory", "authn_req", "m1", `"Server-ID":"srv-1"`))})
			expect("reply m1")

			d := recv(t, direct, 5*time.Second, "the reply on reply-to")
			var body map[string]any
			if err := json.Unmarshal(d.Body, &body); err != nil {
				t.Fatal(err)
			}
			if d.CorrelationId != "c-2" || d.ContentType != "application/json" || body["Msg-ID"] != "m2" ||
				body["App-Name"] != "warren-test" || body["App-Version"] != "1.0" || body["Event-Name"] != "authn_resp" || body["Answer"] != float64(42) {
				t.Fatalf("reply on reply-to: %+v %s", d, d.Body)
			}
			d = recv(t, targeted, 5*time.Second, "the reply on targeted")
			body = nil
			if err := json.Unmarshal(d.Body, &body); err != nil {
				t.Fatal(err)
			}
			if d.Exchange != "targeted" || d.RoutingKey != "srv-1" || body["Msg-ID"] != "m1" || body["Event-Category"] != "directory" {
				t.Fatalf("reply on targeted (m2 must not come here): %+v %s", d, d.Body)
			}

			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "text/plain", ReplyTo: "direct-replies", CorrelationId: "c-3", Body: []byte("ping")})
			expect("raw reply")
			d = recv(t, direct, 5*time.Second, "the raw reply")
			if string(d.Body) != "pong:ping" || d.ContentType != "text/plain" || d.CorrelationId != "c-3" {
				t.Fatalf("raw reply: %+v %q", d, d.Body)
			}

			// No address, no Msg-ID, a raw request: errors, nothing sent.
			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "text/plain", Body: []byte("no reply-to")})
			if e := recv(t, errs, 5*time.Second, "raw reply error"); !errors.Is(e.err, listener.ErrNoReplyAddress) {
				t.Fatalf("%s: %v, want ErrNoReplyAddress", e.what, e.err)
			}
			publishJSON(t, ch, "", "responder-q", event("noaddr", "x", "m4"))
			for range 2 {
				if e := recv(t, errs, 5*time.Second, "reply errors"); !errors.Is(e.err, listener.ErrNoReplyAddress) {
					t.Fatalf("%s: %v, want ErrNoReplyAddress", e.what, e.err)
				}
			}
			publishJSON(t, ch, "", "responder-q", `{"Event-Category":"nomsgid","Event-Name":"x","Server-ID":"srv-1"}`)
			if e := recv(t, errs, 5*time.Second, "reply error"); e.err == nil || !strings.Contains(e.err.Error(), "Msg-ID") {
				t.Fatalf("%s: %v, want the missing Msg-ID", e.what, e.err)
			}
			publish(t, ch, "", "responder-q", amqp.Publishing{ContentType: "text/plain", ReplyTo: "direct-replies", Body: []byte("json reply please")})
			if e := recv(t, errs, 5*time.Second, "reply error"); e.err == nil || !strings.Contains(e.err.Error(), "ReplyRaw") {
				t.Fatalf("%s: %v, want a pointer to ReplyRaw", e.what, e.err)
			}
			select {
			case d := <-targeted:
				t.Fatalf("unexpected reply on targeted: %s", d.Body)
			case d := <-direct:
				t.Fatalf("unexpected reply on reply-to: %s", d.Body)
			default:
			}
		})
	}
}

// In a tree without publishers, a reply while the listener has no channel
// fails with ErrNotConnected; the ack of that delivery is stale.
func TestDelivery_ReplyWithoutAChannel(t *testing.T) {
	r := start(t, noPublishers)
	g, started := make(gate), make(chan struct{}, 1)
	errs := make(chan error, 1)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "stranded", Queue: listener.QueueSpec{Name: "stranded-q"},
		Raw: func(ctx context.Context, d *listener.Delivery) error {
			started <- struct{}{}
			if err := g.wait(ctx); err != nil {
				return err
			}
			errs <- d.ReplyRaw(ctx, []byte("late"), "text/plain")
			return nil
		}})
	ch := rawChannel(t, r.nb)
	publish(t, ch, "", "stranded-q", amqp.Publishing{Body: []byte("req"), ReplyTo: "nowhere"})
	recv(t, started, 5*time.Second, "handler call")
	_ = r.nb.Close() // the broker goes for good
	waitRow(t, r.tree, pid.Id, "reconnecting", func(l registry.Listener) bool {
		return l.State == registry.ListenerReconnecting && l.Channel == "" && strings.Contains(l.LastError, "channel lost")
	})
	close(g)
	err := recv(t, errs, 5*time.Second, "the reply's result")
	var be *actors.BrokerError
	if !errors.Is(err, actors.ErrNotConnected) || !errors.As(err, &be) || be.Op != "reply" || be.Broker != r.broker(t) {
		t.Fatalf("reply without a channel: %v, want a BrokerError wrapping ErrNotConnected", err)
	}
	row := waitRow(t, r.tree, pid.Id, "the ack dropped as stale", func(l registry.Listener) bool { return l.Stale == 1 && l.InFlight == 0 })
	if row.Acked != 0 {
		t.Fatalf("row %+v", row)
	}
}
