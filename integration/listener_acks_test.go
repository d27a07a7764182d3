package integration

import (
	"strconv"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// A listener's acks may go out several in one basic.ack with multiple set
// (actors/listener/ack_combine.go). RabbitMQ settles every outstanding tag
// up to a multiple ack's, and closes the channel (406 PRECONDITION_FAILED,
// unknown delivery tag) when a nack then names one of them. Handlers here
// decide in groups of eight released at once, every fifth message nacked
// with requeue on its first delivery and acked when it comes back: each
// message is acked once, each nack reaches RabbitMQ, no ack is stale (the
// channel never closed), and RabbitMQ holds nothing, ready or unacked.
func TestListener_AcksOfHandlersDecidingTogetherOnRabbitMQ(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	ch := rawChannel(t, b)
	// 800 first deliveries and 160 redeliveries: 120 groups of 8.
	const n, workers = 800, 8
	pid, _ := spawnListener(t, tree, listener.Spec{Name: "acks-together", Queue: listener.QueueSpec{Name: "acks-together"},
		Ack: listener.AckManual, Workers: workers,
		Handlers: []listener.Route{{Handler: treetest.NackEveryFifthOnce(&testkit.Groups{N: workers})}}})
	for i := range n {
		publishJSON(t, ch, "", "acks-together", `{"Event-Category":"a","Event-Name":"b","Msg-ID":"`+strconv.Itoa(i)+`"}`)
	}
	row := waitListener(t, tree, pid.Id, 30*time.Second, "every message acked", func(l registry.Listener) bool {
		return l.Acked == n && l.InFlight == 0
	})
	if row.Nacked != n/5 || row.Requeued != n/5 || row.Received != n+n/5 || row.Stale != 0 || row.Errors != 0 {
		t.Fatalf("row %+v; want %d acked, %d nacked and requeued, %d received, none stale", row, n, n/5, n+n/5)
	}
	testkit.Poll(t, 10*time.Second, "RabbitMQ holds nothing of the queue", func() bool {
		return queueCountsOf(t, b, "acks-together") == "0 0"
	})
}
