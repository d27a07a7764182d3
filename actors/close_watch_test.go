package actors

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/testkit"
)

// A connection's close watch takes its channels in shards of at most
// closeWatchShard (one goroutine each, none per channel), reports every
// close with its error, frees the room a closed channel held, and its
// goroutines end with the tree.
func TestCloseWatch_ShardsReportClosesAndEndWithTheTree(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
	defer sys.Shutdown()
	closed := make(chan *channelClosed, 1024)
	self := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*channelClosed); ok {
			closed <- m
		}
	}))
	stopping := make(chan struct{})
	env := &Env{System: sys, Stopping: stopping}
	w := newCloseWatch(env, self)

	n := 2*closeWatchShard + 10
	chans := make([]*openedChannel, n)
	for i := range chans {
		chans[i] = &openedChannel{id: fmt.Sprintf("c#%d", i), closed: make(chan *amqp.Error, 1)}
		w.watch(chans[i])
	}
	if len(w.shards) != 3 {
		t.Fatalf("%d channels in %d shards, want 3 of at most %d", n, len(w.shards), closeWatchShard)
	}
	// A channel of the first shard closed by the broker, one of the last
	// closed by the client (amqp091 closes the chan without an error).
	chans[0].closed <- &amqp.Error{Code: 406, Reason: "PRECONDITION_FAILED"}
	close(chans[n-1].closed)
	got := map[string]*amqp.Error{}
	for range 2 {
		m := testkit.Recv(t, closed, 5*time.Second, "a channel's close")
		got[m.id] = m.err
	}
	if e, ok := got["c#0"]; !ok || e == nil || e.Code != 406 {
		t.Fatalf("c#0 reported %v (%v), want its 406", e, ok)
	}
	if e, ok := got[fmt.Sprintf("c#%d", n-1)]; !ok || e != nil {
		t.Fatalf("the last channel reported %v (%v), want a graceful close (nil)", e, ok)
	}
	// The room c#0 held is the first shard's again (freed before the
	// report): the next channel goes there, no fourth shard starts.
	w.watch(&openedChannel{id: "c#new", closed: make(chan *amqp.Error, 1)})
	if len(w.shards) != 3 || w.shards[0].n.Load() != closeWatchShard {
		t.Fatalf("after a close and a watch: %d shards, first holds %d; want 3 and %d", len(w.shards), w.shards[0].n.Load(), closeWatchShard)
	}
	close(stopping)
	ended := make(chan struct{})
	go func() { env.Closing.Wait(); close(ended) }()
	testkit.Recv(t, ended, 5*time.Second, "the shards' goroutines to end")
}

// A connection's loss closes all its channels at once: each is reported
// once, with its own error (a shard takes in every close it finds after
// the first, not one per select), and channels handed over in a burst are
// all watched.
func TestCloseWatch_AllChannelsClosedAtOnceEachReportedOnce(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }))
	defer sys.Shutdown()
	n := closeWatchShard + 40
	closed := make(chan *channelClosed, 2*n)
	self := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*channelClosed); ok {
			closed <- m
		}
	}))
	stopping := make(chan struct{})
	env := &Env{System: sys, Stopping: stopping}
	defer close(stopping)
	w := newCloseWatch(env, self)
	chans := make([]*openedChannel, n)
	for i := range chans {
		chans[i] = &openedChannel{id: fmt.Sprintf("c#%d", i), closed: make(chan *amqp.Error, 1)}
		w.watch(chans[i])
	}
	for i, ch := range chans { // as amqp091 does: the error, if any, then the close
		if i%2 == 0 {
			ch.closed <- &amqp.Error{Code: 320, Reason: fmt.Sprintf("CONNECTION_FORCED %d", i)}
		}
		close(ch.closed)
	}
	got := map[string]*amqp.Error{}
	for range n {
		m := testkit.Recv(t, closed, 5*time.Second, "a channel's close")
		if _, dup := got[m.id]; dup {
			t.Fatalf("%s reported twice", m.id)
		}
		got[m.id] = m.err
	}
	for i, ch := range chans {
		e := got[ch.id]
		if want := i%2 == 0; (e != nil) != want || (want && e.Reason != fmt.Sprintf("CONNECTION_FORCED %d", i)) {
			t.Errorf("%s reported %v; want its own error: %v", ch.id, e, want)
		}
	}
	testkit.Quiet(t, closed, "a close reported twice")
	for _, s := range w.shards {
		if s.n.Load() != 0 {
			t.Errorf("a shard still counts %d channels", s.n.Load())
		}
	}
}
