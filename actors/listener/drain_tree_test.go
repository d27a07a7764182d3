package listener_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// drainRig is a listener on queue "work" with 2 workers and prefetch 10,
// whose handler records each message it starts and waits on gate (or its
// ctx, when honour is set).
type drainRig struct {
	*rig
	pid      string
	started  chan string
	finished atomic.Int32
	gate     gate
}

func newDrainRig(t *testing.T, r *rig, honour bool) *drainRig {
	t.Helper()
	d := &drainRig{rig: r, started: make(chan string, 100), gate: make(gate)}
	pid, _ := spawn(t, r.tree, listener.Spec{
		Name: "work", Queue: listener.QueueSpec{Name: "work", Durable: true}, Workers: 2, Prefetch: 10,
		Raw: func(ctx context.Context, del *listener.Delivery) error {
			d.started <- string(del.Body)
			wait := context.Background()
			if honour {
				wait = ctx
			}
			if err := d.gate.wait(wait); err != nil {
				return err
			}
			d.finished.Add(1)
			return nil
		},
	})
	d.pid = pid.Id
	ch := rawChannel(t, r.nb)
	for i := range 6 {
		publish(t, ch, "", "work", amqp.Publishing{ContentType: "text/plain", Body: []byte(fmt.Sprint("m", i))})
	}
	// Two handlers run; the other four deliveries wait in the client.
	recv(t, d.started, 5*time.Second, "first handler")
	recv(t, d.started, 5*time.Second, "second handler")
	queueIs(t, r.nb, "work", 0, 6)
	return d
}

// drain sends the listener a Drain and returns the future's answer.
func (d *drainRig) drain(t *testing.T, deadline time.Time) <-chan *listener.Drained {
	t.Helper()
	out := make(chan *listener.Drained, 1)
	f := d.tree.System().Root.RequestFuture(d.tree.System().NewLocalPID(d.pid), &listener.Drain{Deadline: deadline}, 15*time.Second)
	go func() {
		res, err := f.Result()
		if err != nil {
			t.Errorf("drain: %v", err)
			close(out)
			return
		}
		out <- res.(*listener.Drained)
	}()
	return out
}

func TestDrain_RequeuesWhatNoHandlerStartedAndLetsRunningOnesFinish(t *testing.T) {
	r := start(t, nil)
	d := newDrainRig(t, r, true)
	answer := d.drain(t, time.Now().Add(time.Minute))

	// The consumer is cancelled and the four unstarted deliveries go back
	// to the queue, while the two handlers still run.
	queueIs(t, r.nb, "work", 4, 2)
	row := waitRow(t, r.tree, d.pid, "draining", func(l registry.Listener) bool { return l.State == registry.ListenerDraining })
	if q, _ := r.nb.Queue("work"); q.Consumers != 0 {
		t.Fatalf("queue work still has %d consumers while draining", q.Consumers)
	}
	select {
	case got := <-answer:
		t.Fatalf("drained while two handlers still run: %+v (row %+v)", got, row)
	default:
	}

	close(d.gate)
	got := recv(t, answer, 10*time.Second, "Drained")
	if want := (listener.Drained{Listener: "work", Requeued: 4, Finished: 2}); *got != want {
		t.Fatalf("Drained = %+v, want %+v", *got, want)
	}
	if n := d.finished.Load(); n != 2 {
		t.Fatalf("%d handlers finished, want 2", n)
	}
	// Both finished handlers acked on their channel; nothing else ran.
	queueIs(t, r.nb, "work", 4, 0)
	row = waitRow(t, r.tree, d.pid, "drained", func(l registry.Listener) bool { return l.State == registry.ListenerDrained })
	if row.Acked != 2 || row.Requeued != 4 || row.Nacked != 0 {
		t.Fatalf("row after the drain: acked %d, requeued %d, nacked %d; want 2, 4, 0", row.Acked, row.Requeued, row.Nacked)
	}
	if len(d.started) != 0 {
		t.Fatalf("a handler started during the drain: %q", <-d.started)
	}
}

func TestDrain_CancelsHandlersAtTheDeadlineAndRequeuesTheirMessages(t *testing.T) {
	r := start(t, nil)
	d := newDrainRig(t, r, true)
	got := recv(t, d.drain(t, time.Now().Add(150*time.Millisecond)), 10*time.Second, "Drained")
	if want := (listener.Drained{Listener: "work", Requeued: 6, Cut: 2}); *got != want {
		t.Fatalf("Drained = %+v, want %+v", *got, want)
	}
	// The cut handlers returned ctx.Err(): their messages are requeued, not
	// retried, dead-lettered or dropped.
	queueIs(t, r.nb, "work", 6, 0)
	row := waitRow(t, r.tree, d.pid, "drained", func(l registry.Listener) bool { return l.State == registry.ListenerDrained })
	if row.DeadLettered != 0 || row.Rejected != 0 || row.Requeued != 6 || !strings.Contains(row.LastError, "2 handlers cancelled") {
		t.Fatalf("row after the cut: dead-lettered %d, rejected %d, requeued %d, last error %q", row.DeadLettered, row.Rejected, row.Requeued, row.LastError)
	}
}

func TestStopListener_DrainsBeforeItStops(t *testing.T) {
	r := start(t, nil)
	d := newDrainRig(t, r, false) // handlers that ignore their ctx
	stopped := make(chan error, 1)
	go func() { stopped <- r.tree.StopListener(context.Background(), "work") }()
	waitRow(t, r.tree, d.pid, "draining", func(l registry.Listener) bool { return l.State == registry.ListenerDraining })
	queueIs(t, r.nb, "work", 4, 2)
	close(d.gate)
	if err := recv(t, stopped, 10*time.Second, "StopListener"); err != nil {
		t.Fatalf("StopListener: %v", err)
	}
	// Acked before the channel closed: nothing is delivered twice.
	queueIs(t, r.nb, "work", 4, 0)
	if n := d.finished.Load(); n != 2 {
		t.Fatalf("%d handlers finished, want 2", n)
	}
	eventually(t, r.tree, 5*time.Second, "listener row gone", func() bool {
		_, ok := r.tree.Registry().Listener(d.pid)
		return !ok
	})
}

func TestShutdown_DrainsListenersAndSaysWhatItCut(t *testing.T) {
	nb, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nb.Close() })
	logs := &logBuf{}
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{nb.URL()}}}, Prechannels: 2,
		DrainTimeout: 200 * time.Millisecond}
	cfg.RPC.Workers = -1
	tree, err := supervisor.Start(cfg, supervisor.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	shutdown := func() error {
		var err error
		once.Do(func() { err = tree.Shutdown(within(t, 10*time.Second)) })
		return err
	}
	t.Cleanup(func() { _ = shutdown() })
	if err := tree.WaitReady(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	d := newDrainRig(t, &rig{nb: nb, tree: tree, logs: logs}, true)

	err = shutdown()
	if !errors.Is(err, supervisor.ErrDrainCut) || !strings.Contains(err.Error(), "listener work: 2 handlers cancelled") {
		t.Fatalf("Shutdown = %v, want ErrDrainCut naming listener work's 2 handlers", err)
	}
	// Everything went back to the queue; the tree is gone.
	queueIs(t, nb, "work", 6, 0)
	if n := d.finished.Load(); n != 0 {
		t.Fatalf("%d handlers finished, want 0", n)
	}
	if !strings.Contains(logs.String(), "listeners drained") {
		t.Fatalf("no drain summary in the logs:\n%s", logs.String())
	}
}

func TestShutdown_WithNothingToCutReturnsNil(t *testing.T) {
	r := start(t, nil)
	d := newDrainRig(t, r, false)
	done := make(chan error, 1)
	go func() { done <- r.tree.Shutdown(within(t, 10*time.Second)) }()
	waitRow(t, r.tree, d.pid, "draining", func(l registry.Listener) bool { return l.State == registry.ListenerDraining })
	close(d.gate)
	if err := recv(t, done, 10*time.Second, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	queueIs(t, r.nb, "work", 4, 0)
}

func TestMove_RetiresTheOldChannelThenConsumesOnTheNewOne(t *testing.T) {
	r := start(t, nil)
	d := newDrainRig(t, r, false)
	old := waitRow(t, r.tree, d.pid, "consuming", consuming)
	// The new channel, as assignments would hand it over during a drain of
	// the old channel's broker.
	conn, err := amqp.Dial(r.nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	r.tree.System().Root.Send(r.tree.System().NewLocalPID(d.pid), &actors.ChannelAssigned{ID: "moved-1", Channel: ch,
		Broker: old.Broker, Zone: old.Zone, Reconnect: true, MovedFrom: old.Channel})

	// The old consumer is cancelled, its unstarted deliveries requeued; the
	// running handlers keep their deliveries, and nothing consumes yet.
	queueIs(t, r.nb, "work", 4, 2)
	if q, _ := r.nb.Queue("work"); q.Consumers != 0 {
		t.Fatalf("queue work has %d consumers while the old channel retires", q.Consumers)
	}
	close(d.gate)
	// Then the listener consumes on the new channel and handles the rest.
	row := waitRow(t, r.tree, d.pid, "consuming on the new channel", func(l registry.Listener) bool {
		return l.State == registry.ListenerConsuming && l.Channel == "moved-1" && l.Acked == 6
	})
	queueIs(t, r.nb, "work", 0, 0)
	if n := d.finished.Load(); n != 6 || row.Nacked != 0 {
		t.Fatalf("%d handlers finished, %d nacked; want 6, 0 (row %+v)", n, row.Nacked, row)
	}
}
