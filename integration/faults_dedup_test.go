package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/registry"
)

// The dedup window in a fault: while confirmed publishes flow, the broker
// closes Warren's publishing connection (confirms in flight are resent:
// the same message reaches the queue twice) and its consuming connection
// while handlers run (handlers that finished lose their acks: the broker
// redelivers those messages). With Spec.Dedup, every message reaches its
// handler exactly once, none is lost, and the listener counts the
// duplicates it acked without running the handler.
func TestFault_DedupWindowHandlesResendsAndRedeliveriesOnce(t *testing.T) {
	r := newFaultRig(t, "dedup window: resends and redeliveries", withSpec(func(s *listener.Spec) {
		s.Dedup = listener.DedupSpec{Window: time.Minute}
		s.Workers = 16
		h := s.Handlers[0].Handler
		s.Handlers[0].Handler = func(ctx context.Context, d *listener.Delivery) error {
			time.Sleep(2 * time.Millisecond) // work: handlers are running when the connection goes
			return h(ctx, d)
		}
	}))
	stop := r.load(2, 0, 5*time.Second)
	r.confirmedMore(t, 200, 20*time.Second, "confirmed publishes flowing")
	for i := range 3 {
		closeWarrenConnection(t, r.b, true)
		r.waitUp(t, registry.Publish, 20*time.Second)
		r.confirmedMore(t, 100, 20*time.Second, "confirmed publishes after the publishing connection was closed")
		closeWarrenConnection(t, r.b, false)
		r.consumingAgain(t, 20*time.Second)
		r.confirmedMore(t, 100, 20*time.Second, "confirmed publishes after the consuming connection was closed")
		t.Logf("round %d done", i+1)
	}
	stop()
	r.l.settle(60 * time.Second)
	row, _ := r.tree.Registry().Listener(r.listener.Id)
	pubs := r.tree.Registry().Publishers()
	var resent uint64
	for _, p := range pubs {
		resent += p.Resent
	}
	r.l.notef("3 rounds of the broker closing the publishing, then the consuming connection: %d publishes resent, %d deliveries acked as duplicates without running the handler",
		resent, row.Duplicates)
	t.Logf("resent %d, duplicates suppressed %d, stale acks %d", resent, row.Duplicates, row.Stale)
	if once, more, never := r.l.handledTimes(); more > 0 || never > 0 {
		t.Errorf("handled once %d, twice or more %d, never %d: want every message exactly once", once, more, never)
	}
	if row.Duplicates == 0 {
		t.Errorf("no duplicate reached the listener (resent %d, stale acks %d): the scenario proved nothing", resent, row.Stale)
	}
	shutdownClean(t, r.l, r.tree, r.base, 15*time.Second) // the ledger's duplicates column must say 0
}

// closeWarrenConnection has the broker close (320 CONNECTION_FORCED) the
// Warren connection that publishes (publish) or the one that consumes.
func closeWarrenConnection(t testing.TB, b *Broker, publish bool) {
	t.Helper()
	want := `"connection_name","warren"}`
	if publish {
		want = `"connection_name","warren (publish)"`
	}
	for _, line := range strings.Split(b.Ctl(t, "list_connections", "pid", "client_properties", "--quiet", "--no-table-headers"), "\n") {
		if strings.Contains(line, want) {
			pid := strings.Fields(line)[0]
			b.Ctl(t, "close_connection", pid, "fault suite: closed by the broker")
			return
		}
	}
	t.Fatalf("no Warren connection %s on %s", want, b.Name)
}
