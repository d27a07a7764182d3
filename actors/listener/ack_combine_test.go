package listener

import (
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
)

// A multiple ack covers only a run of tags Warren means to ack: from just
// above the floor, each one in the batch or settled already. A tag still
// handled, being nacked or never seen breaks the run, and the batch's tags
// past it are acked one by one.
func TestPlanAcks_CoversOnlyARunFromTheFloor(t *testing.T) {
	set := func(tags ...uint64) map[uint64]struct{} {
		m := map[uint64]struct{}{}
		for _, t := range tags {
			m[t] = struct{}{}
		}
		return m
	}
	for _, c := range []struct {
		name    string
		floor   uint64
		above   map[uint64]struct{}
		batch   []uint64
		want    ackPlan
		covered []uint64 // the tags the plan settles at the broker
	}{
		{name: "a run from the floor", floor: 4, batch: []uint64{5, 6, 7},
			want: ackPlan{upTo: 7, multiple: true, covered: 3, singles: []uint64{}}},
		{name: "a tag still handled below the batch", floor: 4, batch: []uint64{6, 7},
			want: ackPlan{singles: []uint64{6, 7}}},
		{name: "a gap in the batch", floor: 4, batch: []uint64{5, 6, 8, 9},
			want: ackPlan{upTo: 6, multiple: true, covered: 2, singles: []uint64{8, 9}}},
		{name: "settled tags bridge the gap", floor: 4, above: set(7), batch: []uint64{5, 6, 8, 9},
			want: ackPlan{upTo: 9, multiple: true, covered: 4, singles: []uint64{}}},
		{name: "a settled tag below the batch", floor: 4, above: set(5), batch: []uint64{6, 7},
			want: ackPlan{upTo: 7, multiple: true, covered: 2, singles: []uint64{}}},
		{name: "one tag of the run alone", floor: 4, batch: []uint64{5, 7},
			want: ackPlan{singles: []uint64{5, 7}}},
		{name: "settled above the batch change nothing", floor: 4, above: set(8, 9), batch: []uint64{5, 6},
			want: ackPlan{upTo: 6, multiple: true, covered: 2, singles: []uint64{}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := planAcks(c.floor, c.above, slices.Clone(c.batch))
			if got.upTo != c.want.upTo || got.multiple != c.want.multiple || got.covered != c.want.covered ||
				!slices.Equal(got.singles, c.want.singles) && len(got.singles)+len(c.want.singles) > 0 {
				t.Fatalf("plan %+v; want %+v", got, c.want)
			}
			// What the broker settles: every outstanding tag up to upTo
			// (those above the floor not settled already), and the
			// singles. It must be exactly the batch.
			var settled []uint64
			for tag := c.floor + 1; tag <= got.upTo; tag++ {
				if _, ok := c.above[tag]; !ok {
					settled = append(settled, tag)
				}
			}
			settled = append(settled, got.singles...)
			slices.Sort(settled)
			if !slices.Equal(settled, c.batch) {
				t.Fatalf("the plan settles %v at the broker; the batch is %v", settled, c.batch)
			}
		})
	}
}

// The floor moves up over every tag settled in a row, whatever the order
// they were settled in; past maxAckTracked tags above a floor that does
// not move, the acker stops combining.
func TestAcker_FloorFollowsSettlements(t *testing.T) {
	a := newAcker(nil, nil)
	for _, tag := range []uint64{2, 3, 5, 1} {
		a.settledLocked(tag)
	}
	if a.floor != 3 || len(a.above) != 1 {
		t.Fatalf("floor %d, above %v after 2, 3, 5, 1; want floor 3, above {5}", a.floor, a.above)
	}
	a.settledLocked(4)
	if a.floor != 5 || len(a.above) != 0 {
		t.Fatalf("floor %d, above %v after 4; want floor 5, none above", a.floor, a.above)
	}
	for tag := uint64(7); tag < 7+maxAckTracked+1; tag++ { // 6 is never settled
		a.settledLocked(tag)
	}
	if !a.off {
		t.Fatalf("tracking %d tags above floor %d: the acker should have stopped combining", len(a.above), a.floor)
	}
	if p := a.plan([]uint64{6, 7}); p.multiple || len(p.singles) != 2 {
		t.Fatalf("plan %+v once off; want each tag on its own", p)
	}
}

// On a broker: acks that queue behind a write in progress go out as one
// frame; acks above a tag still unsettled go out one by one, so that the
// nack of that tag, written after them, still finds it.
func TestAcker_QueuedAcksShareAFrameButNotAnUnsettledTag(t *testing.T) {
	nb, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nb.Close() })
	ch := testkit.AMQPChannel(t, nb.URL())
	if _, err := ch.QueueDeclare("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if err := ch.Publish("", "q", false, false, amqp.Publishing{Body: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := ch.Consume("q", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for want := uint64(1); want <= 8; want++ {
		if d := testkit.Recv(t, ds, 5*time.Second, "delivery"); d.DeliveryTag != want {
			t.Fatalf("delivery tag %d, want %d", d.DeliveryTag, want)
		}
	}
	a := newAcker(ch, nil)
	// ackBehind acks tags while a write is in progress (wmu held), waits
	// until they all joined one batch, then lets it go.
	ackBehind := func(tags ...uint64) {
		t.Helper()
		a.wmu.Lock()
		errs := make(chan error, len(tags))
		for _, tag := range tags {
			go func() { errs <- a.ack(tag) }()
		}
		testkit.Poll(t, 5*time.Second, "the acks queued in one batch", func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.open != nil && len(a.open.tags) == len(tags)
		})
		a.wmu.Unlock()
		for range tags {
			if err := testkit.Recv(t, errs, 5*time.Second, "ack"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// stats waits until the broker handled acks acks (or more).
	stats := func(acks int64) nullbroker.Stats {
		t.Helper()
		if err := testkit.AwaitCtx(testkit.Within(t, 5*time.Second), nb.Changed, func() bool { return nb.Stats().Acked >= acks }); err != nil {
			t.Fatalf("the broker handled %d acks, want %d", nb.Stats().Acked, acks)
		}
		return nb.Stats()
	}
	ackBehind(3, 1, 5, 2, 4)
	if st := stats(5); st.Acked != 5 || st.AckFrames != 1 {
		t.Fatalf("%d acks in %d frames; want 5 in 1", st.Acked, st.AckFrames)
	}
	ackBehind(8, 7) // 6 is still handled
	if st := stats(7); st.Acked != 7 || st.AckFrames != 3 {
		t.Fatalf("%d acks in %d frames; want 7 in 3: 7 and 8 on their own, not covering 6", st.Acked, st.AckFrames)
	}
	if err := a.other(6, func() error { return ch.Nack(6, false, false) }); err != nil {
		t.Fatal(err)
	}
	if err := testkit.AwaitCtx(testkit.Within(t, 5*time.Second), nb.Changed, func() bool { return nb.Stats().Nacked == 1 }); err != nil {
		t.Fatalf("the broker saw %d nacks, want 1", nb.Stats().Nacked)
	}
	if q, ok := nb.Queue("q"); !ok || q.Messages != 0 || q.Unacked != 0 || ch.IsClosed() {
		t.Fatalf("queue %+v (exists %v), channel closed %v; want it empty and the channel open", q, ok, ch.IsClosed())
	}
	if a.floor != 8 || len(a.above) != 0 || a.combined.Load() != 4 || a.writes.Load() != 3 {
		t.Fatalf("floor %d, above %v, %d combined in %d writes; want floor 8, none above, 4 combined in 3 writes",
			a.floor, a.above, a.combined.Load(), a.writes.Load())
	}
}
