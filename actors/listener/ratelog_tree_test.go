package listener_test

import (
	"context"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// Issue 19 found every rejected message logged a WARN of its own; issue 18
// bounded them (rateLog): 200 payloads no handler can read, rejected, cost
// at most a burst of lines, not one each.
func TestListener_RejectionsLogAtABoundedRate(t *testing.T) {
	const n = 200
	r := start(t, nil)
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "picky", Queue: listener.QueueSpec{Name: "picky-q"}, OnError: listener.Discard,
		Handlers: []listener.Route{{Handler: func(context.Context, *listener.Delivery) error { return nil }}}})
	ch := rawChannel(t, r.nb)
	for range n {
		publish(t, ch, "", "picky-q", amqp.Publishing{ContentType: "text/plain", Body: []byte("not json")})
	}
	waitRow(t, r.tree, pid.Id, "every payload rejected", func(l registry.Listener) bool { return l.Rejected == n })
	lines := strings.Count(r.logs.String(), "non-JSON payload and no raw handler: rejected")
	// A burst of 10 per 10 s window; a slow run may span two windows.
	if lines == 0 || lines > 20 {
		t.Fatalf("%d log lines for %d rejections, want 1 to 20 (a burst per window)", lines, n)
	}
	t.Logf("%d rejections, %d log lines", n, lines)
}
