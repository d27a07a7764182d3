package listener_test

import (
	"strconv"
	"testing"

	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Handlers that decide together may have their acks written as one
// basic.ack with multiple set (acker), and such an ack never covers a
// delivery another handler is nacking at the same time: the handlers
// decide in groups of eight released at once, every fifth message is
// nacked (with requeue) on its first delivery and acked when it comes back.
// Each message is acked once, each nack reaches the broker, and the
// channel never closes on an unknown tag (no ack is stale). How many acks
// shared a frame depends on the timing; ack_combine_test.go makes it
// happen.
func TestAcks_HandlersDecidingTogetherSettleEachMessageOnce(t *testing.T) {
	r := start(t, noPublishers)
	ch := rawChannel(t, r.nb)
	// 400 first deliveries and 80 redeliveries: 60 groups of 8.
	const n, workers = 400, 8
	spec := manualSpec("acks-combined", treetest.NackEveryFifthOnce(&testkit.Groups{N: workers}))
	spec.Workers = workers
	before := r.nb.Stats()
	pid, _ := spawn(t, r.tree, spec)
	for i := range n {
		publishJSON(t, ch, "", "acks-combined", event("a", "b", strconv.Itoa(i)))
	}
	row := waitRow(t, r.tree, pid.Id, "every message acked", func(l registry.Listener) bool {
		return l.Acked == n && l.InFlight == 0
	})
	if row.Nacked != n/5 || row.Requeued != n/5 || row.Received != n+n/5 || row.Stale != 0 || row.Errors != 0 {
		t.Fatalf("row %+v; want %d acked, %d nacked and requeued, %d received, none stale", row, n, n/5, n+n/5)
	}
	queueIs(t, r.nb, "acks-combined", 0, 0)
	after := r.nb.Stats()
	acks, frames := after.Acked-before.Acked, after.AckFrames-before.AckFrames
	if acks != n || after.Nacked-before.Nacked != n/5 {
		t.Fatalf("the broker saw %d acks and %d nacks; want %d and %d", acks, after.Nacked-before.Nacked, n, n/5)
	}
	t.Logf("%d acks in %d frames", acks, frames)
}
