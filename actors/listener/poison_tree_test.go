package listener_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// nestedHeaders returns headers whose innermost table is depth tables below
// them: amqp091-go reads 32, and takes a deeper one for a frame error that
// closes the connection.
func nestedHeaders(depth int) amqp.Table {
	t := amqp.Table{}
	for range depth {
		t = amqp.Table{"a": t}
	}
	return t
}

// A delivery whose headers nest 33 tables deep costs itself only: the
// link's filter replaces its headers, the listener dead-letters it to
// <queue>_error without running a handler, with the reason; both listeners
// of the connection go on consuming, and the connection never drops.
func TestPoison_HeadersNestedTooDeepAreDeadLetteredAndTheConnectionStays(t *testing.T) {
	r := start(t, noPublishers)
	var mu sync.Mutex
	seen := map[string]bool{}
	handler := func(_ context.Context, d *listener.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		seen[d.MessageID] = true
		return nil
	}
	poisoned, _ := spawn(t, r.tree, listener.Spec{Name: "poisoned", Queue: listener.QueueSpec{Name: "poisoned-q"},
		Handlers: []listener.Route{{Handler: handler}}})
	bystander, _ := spawn(t, r.tree, listener.Spec{Name: "bystander", Queue: listener.QueueSpec{Name: "bystander-q"},
		Handlers: []listener.Route{{Handler: handler}}})
	ch := rawChannel(t, r.nb)
	good := func(queue, id string) {
		publish(t, ch, "", queue, amqp.Publishing{ContentType: "application/json", MessageId: id, Body: []byte(event("a", "b", id))})
	}
	good("poisoned-q", "p1")
	good("bystander-q", "b1")
	publish(t, ch, "", "poisoned-q", amqp.Publishing{ContentType: "application/json", MessageId: "poison",
		Headers: nestedHeaders(33), Body: []byte(event("a", "b", "poison"))})
	good("poisoned-q", "p2")
	good("bystander-q", "b2")

	row := waitRow(t, r.tree, poisoned.Id, "2 acked, 1 dead-lettered", func(l registry.Listener) bool {
		return l.Acked == 2 && l.DeadLettered == 1 && l.InFlight == 0
	})
	if row.Rejected != 1 || row.Errors != 0 {
		t.Fatalf("poisoned row %+v", row)
	}
	waitRow(t, r.tree, bystander.Id, "2 acked", func(l registry.Listener) bool { return l.Acked == 2 })
	d := getOne(t, r, ch, "poisoned-q_error")
	checkDeadLetter(t, r, d, "poisoned", "poisoned-q", "", "poisoned-q", "nested deeper than 32 levels", 0)
	if d.Headers[actors.DroppedHeadersHeader] == nil || d.MessageId != "poison" || string(d.Body) != event("a", "b", "poison") {
		t.Fatalf("dead letter %+v", d)
	}
	queueIs(t, r.nb, "poisoned-q", 0, 0)
	mu.Lock()
	if seen["poison"] || !seen["p1"] || !seen["p2"] || !seen["b1"] || !seen["b2"] {
		t.Errorf("handlers saw %v: want p1 p2 b1 b2, never the poison", seen)
	}
	mu.Unlock()
	c, ok := r.tree.Registry().Connection(r.broker(t))
	if !ok {
		t.Fatalf("no connection row for %s", r.broker(t))
	}
	if c.Connects != 1 {
		t.Fatalf("the connection reconnected: %d connects, last error %q", c.Connects, c.LastError)
	}
	if !strings.Contains(r.logs.String(), "unreadable headers dead-lettered") {
		t.Errorf("the log does not say the delivery was dead-lettered for its headers")
	}
}
