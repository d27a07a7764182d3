package listener_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// A Kazoo peer sends large bodies gzipped (content_encoding gzip): the
// listener decompresses before decoding, as gen_listener does, and hands
// the handler the envelope and the plain body. A gzip bomb and a truncated
// body are dead-lettered, each with its reason; the listener goes on.
func TestListener_DecodesGzippedEnvelopesAndDeadLettersBadGzip(t *testing.T) {
	r := start(t, noPublishers)
	type got struct {
		msgID string
		body  []byte
	}
	handled := make(chan got, 4)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "gz", Queue: listener.QueueSpec{Name: "gz-q"},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			handled <- got{d.Envelope.MsgID(), d.Body}
			return nil
		}}}})
	ch := rawChannel(t, r.nb)
	gzipped := func(body []byte) amqp.Publishing {
		return amqp.Publishing{ContentType: "application/json", ContentEncoding: "gzip", Body: body}
	}

	plain := []byte(event("im", "inbound", "gz-1", `"Body":"`+string(bytes.Repeat([]byte("mms "), 2000))+`"`))
	publish(t, ch, "", "gz-q", gzipped(kazoo.Gzip(plain)))
	if g := recv(t, handled, 5*time.Second, "the gzipped event"); g.msgID != "gz-1" || !bytes.Equal(g.body, plain) {
		t.Fatalf("handler got Msg-ID %q and a %d-byte body; want gz-1 and the %d plain bytes", g.msgID, len(g.body), len(plain))
	}

	// 17 MiB of zeros in 17 gzip members of 1 MiB: over the 16 MiB bound.
	bomb := bytes.Repeat(kazoo.Gzip(make([]byte, 1<<20)), 17)
	publish(t, ch, "", "gz-q", gzipped(bomb))
	waitRow(t, r.tree, pid.Id, "the bomb dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 1 })
	dl := getOne(t, r, ch, "gz-q_error")
	checkDeadLetter(t, r, dl, "gz", "gz-q", "", "gz-q", "decompresses to more than 16777216 bytes", 0)
	if !bytes.Equal(dl.Body, bomb) || dl.ContentEncoding != "gzip" {
		t.Fatalf("the dead letter holds %d bytes (%q), want the %d sent, still gzip", len(dl.Body), dl.ContentEncoding, len(bomb))
	}

	z := kazoo.Gzip([]byte(event("im", "inbound", "gz-2")))
	publish(t, ch, "", "gz-q", gzipped(z[:len(z)-4]))
	waitRow(t, r.tree, pid.Id, "the truncated body dead-lettered", func(l registry.Listener) bool { return l.DeadLettered == 2 })
	checkDeadLetter(t, r, getOne(t, r, ch, "gz-q_error"), "gz", "gz-q", "", "gz-q", "malformed gzip body", 0)

	publish(t, ch, "", "gz-q", gzipped(kazoo.Gzip([]byte(event("im", "inbound", "gz-3")))))
	if g := recv(t, handled, 5*time.Second, "the event after"); g.msgID != "gz-3" {
		t.Fatalf("handler got %q after the bad bodies", g.msgID)
	}
	queueIs(t, r.nb, "gz-q", 0, 0)
}
