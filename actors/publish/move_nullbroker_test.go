package publish_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// fakeAssignments stands in for the assignments actor: it hands the
// requests and releases it receives to the test.
type fakeAssignments struct {
	requests chan *actors.RequestChannel
	releases chan *actors.ReleaseChannel
}

func (f *fakeAssignments) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actors.RequestChannel:
		f.requests <- m
	case *actors.ReleaseChannel:
		f.releases <- m
	}
}

// moveRig runs one publisher actor of a pool of one, outside a tree, with
// a fake assignments actor: the test gives it channels itself.
type moveRig struct {
	pool     *publish.Pool
	env      *actors.Env
	fake     *fakeAssignments
	pub      *actor.PID // the publisher (confirm-mode channel)
	plain    *actor.PID // its child (plain channel)
	requests map[*actor.PID]bool
}

func newMoveRig(t *testing.T) *moveRig {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return supervisor.DiscardLogger() }))
	reg, w := registry.New()
	env := &actors.Env{System: sys, Registry: reg, Log: supervisor.DiscardLogger(), LocalZone: "local",
		Actors: w.Actors, Publishers: w.Publishers}
	pool, err := publish.NewPool(publish.Config{Publishers: 1, ConfirmTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeAssignments{requests: make(chan *actors.RequestChannel, 4), releases: make(chan *actors.ReleaseChannel, 8)}
	if _, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return fake }), actors.RootName+"/"+actors.AssignmentsName); err != nil {
		t.Fatal(err)
	}
	pub, err := sys.Root.SpawnNamed(pool.Props(env, 1), actors.RootName+"/"+actors.PublishersName+"/publishers-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sys.Root.StopFuture(pub).Wait()
		sys.Shutdown()
	})
	rig := &moveRig{pool: pool, env: env, fake: fake, pub: pub}
	for range 2 {
		select {
		case r := <-fake.requests:
			if !r.CanMove || r.Role != registry.Publish {
				t.Fatalf("request %+v; want CanMove, for publishing", r)
			}
			if r.Consumer.Id != pub.Id {
				rig.plain = r.Consumer
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the publisher and its plain child did not both ask for a channel")
		}
	}
	return rig
}

// channels opens a confirm-mode-to-be channel and a plain one on nb.
func channels(t *testing.T, nb *nullbroker.Server) (*amqp.Channel, *amqp.Channel) {
	t.Helper()
	conn, err := amqp.Dial(nb.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	a, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	b, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// give assigns the publisher its two channels (ids id+"c" and id+"p"),
// moved from the ids of from unless empty, and waits for its row to show
// the confirm-mode one ready.
func (r *moveRig) give(t *testing.T, broker, id string, confirm, plain *amqp.Channel, from string) {
	t.Helper()
	m := func(suffix string, ch *amqp.Channel) *actors.ChannelAssigned {
		a := &actors.ChannelAssigned{ID: id + suffix, Channel: ch, Broker: broker, Zone: "local"}
		if from != "" {
			a.MovedFrom = from + suffix
		}
		return a
	}
	r.env.Send(r.pub, m("c", confirm))
	r.env.Send(r.plain, m("p", plain))
	err := r.env.Registry.Wait(within(t, 5*time.Second), func(s *registry.Snapshot) (bool, error) {
		row, ok := s.Publisher(r.pub.Id)
		return ok && row.State == registry.PublisherReady && row.Channel == id+"c", nil
	})
	if err != nil {
		t.Fatalf("the publisher did not take %s: %v", id, err)
	}
}

func (r *moveRig) inFlight(t *testing.T, n int64) {
	t.Helper()
	err := r.env.Registry.Wait(within(t, 5*time.Second), func(s *registry.Snapshot) (bool, error) {
		row, ok := s.Publisher(r.pub.Id)
		return ok && row.InFlight == n, nil
	})
	if err != nil {
		t.Fatalf("not %d confirms in flight: %v", n, err)
	}
}

func (r *moveRig) released(t *testing.T, holder *actor.PID, id string) {
	t.Helper()
	select {
	case m := <-r.fake.releases:
		if m.Consumer.Id != holder.Id || m.ID != id {
			t.Fatalf("released %s of %s; want %s of %s", m.ID, m.Consumer.Id, id, holder.Id)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not released", id)
	}
}

func (r *moveRig) noRelease(t *testing.T) {
	t.Helper()
	select {
	case m := <-r.fake.releases:
		t.Fatalf("released %s of %s early", m.ID, m.Consumer.Id)
	default:
	}
}

// A publisher told its channels moved (ChannelAssigned.MovedFrom) writes
// new publishes on the new channel at once, gives the old plain channel
// back at once and the old confirm-mode one once the confirm outstanding
// on it came in. A publish whose old channel dies before its ack is resent
// on the new one, and the old channel is given back then.
func TestPublisher_FollowsAMove(t *testing.T) {
	nb1, nb2 := startNull(t, nullbroker.Config{}), startNull(t, nullbroker.Config{})
	d1, d2 := consumer(t, nb1, "mv-q", "", ""), consumer(t, nb2, "mv-q", "", "")
	r := newMoveRig(t)
	c1, p1 := channels(t, nb1)
	r.give(t, "nb1", "one#", c1, p1, "")

	nb1.Freeze() // the ack of the first publish waits
	first := make(chan error, 1)
	go func() {
		first <- r.pool.Publish(within(t, 10*time.Second), "", "mv-q", []byte(`1`), publish.Confirm())
	}()
	r.inFlight(t, 1)

	c2, p2 := channels(t, nb2)
	r.give(t, "nb2", "two#", c2, p2, "one#")
	r.released(t, r.plain, "one#p") // no confirm waits on it
	if err := r.pool.Publish(within(t, 5*time.Second), "", "mv-q", []byte(`2`), publish.Confirm()); err != nil {
		t.Fatalf("a publish after the move: %v", err)
	}
	if m := next(t, d2); string(m.Body) != "2" {
		t.Fatalf("nb2 got %q", m.Body)
	}
	r.noRelease(t) // the first publish's confirm is outstanding on one#c
	nb1.Thaw()
	if err := <-first; err != nil {
		t.Fatalf("the publish in flight on the old channel: %v", err)
	}
	r.released(t, r.pub, "one#c")
	if m := next(t, d1); string(m.Body) != "1" {
		t.Fatalf("nb1 got %q", m.Body)
	}

	// Back to nb1; the confirm outstanding on nb2 is lost with its
	// connection: resent on the new channel, then the old one is given back.
	nb2.Freeze()
	third := make(chan error, 1)
	go func() {
		third <- r.pool.Publish(within(t, 10*time.Second), "", "mv-q", []byte(`3`), publish.Confirm())
	}()
	r.inFlight(t, 1)
	c3, p3 := channels(t, nb1)
	r.give(t, "nb1", "three#", c3, p3, "two#")
	r.released(t, r.plain, "two#p")
	nb2.Kill()
	if err := <-third; err != nil {
		t.Fatalf("the publish whose old channel died: %v", err)
	}
	r.released(t, r.pub, "two#c")
	m := next(t, d1)
	if n, _ := m.Headers[publish.ResentHeader].(int32); string(m.Body) != "3" || n != 1 {
		t.Fatalf("nb1 got %q, headers %v; want the resent publish", m.Body, m.Headers)
	}
	nb2.Thaw()
}

// Publishes written while the publisher moves back and forth between two
// brokers are each routed once, and none is written on a channel the
// publisher gave back: once it released its channels on a broker, that
// broker counts no more basic.publish frames (a publish written there after
// the drain looked lost its confirm when the assignments actor closed the
// channel, and was resent: one message, two copies). The brokers' count
// equals the number of successful Publish calls.
func TestPublisher_MoveWritesNothingOnTheChannelItGaveBack(t *testing.T) {
	nbs := [2]*nullbroker.Server{startNull(t, nullbroker.Config{}), startNull(t, nullbroker.Config{})}
	r := newMoveRig(t)
	open := map[string]*amqp.Channel{}
	giveOn := func(i int, id, from string) {
		c, p := channels(t, nbs[i])
		open[id+"c"], open[id+"p"] = c, p
		r.give(t, fmt.Sprintf("nb%d", i+1), id, c, p, from)
	}
	giveOn(0, "m0#", "")

	stop := make(chan struct{})
	var ok testkit.Counter
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Appendf(nil, "%d-%d", w, n)
				if err := r.pool.Publish(within(t, 10*time.Second), "", "mv-dup", body, publish.Confirm()); err != nil {
					t.Errorf("publish %s: %v", body, err)
					return
				}
				ok.Add(1)
			}
		})
	}
	for i := 1; i <= 20; i++ {
		from, id := fmt.Sprintf("m%d#", i-1), fmt.Sprintf("m%d#", i)
		old := nbs[(i-1)%2]
		giveOn(i%2, id, from)
		for range 2 { // the plain channel and the confirm-mode one, in either order
			select {
			case m := <-r.fake.releases:
				if open[m.ID] == nil || !strings.HasPrefix(m.ID, from) {
					t.Fatalf("released %s, want a channel of %s", m.ID, from)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("move %d: the channels of %s not both released", i, from)
			}
		}
		// The released channels stay open a while, as they may in a tree
		// before the assignments actor closes them: nothing is written on them.
		after := old.Stats().Published
		before := ok.Load()
		testkit.Await(t, 10*time.Second, fmt.Sprintf("publishes after move %d", i), ok.Changed, func() bool { return ok.Load() > before+50 })
		if n := old.Stats().Published - after; n != 0 {
			t.Fatalf("move %d: %d publishes written on %s's channels after the publisher gave them back", i, n, from)
		}
		_ = open[from+"c"].Close()
		_ = open[from+"p"].Close()
	}
	close(stop)
	wg.Wait()
	routed := nbs[0].Stats().Published + nbs[1].Stats().Published
	t.Logf("%d publishes confirmed over 20 moves; the brokers counted %d", ok.Load(), routed)
	if routed != ok.Load() {
		t.Fatalf("the brokers received %d publishes for %d confirmed Publish calls", routed, ok.Load())
	}
}
