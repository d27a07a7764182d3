package registry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fired tells whether a channel of the snapshot's watch set is closed.
func fired(s *Snapshot) bool {
	for ch := range s.ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

func TestSnapshot_WatchesWhatWasReadAndNothingElse(t *testing.T) {
	r, w := New()
	must(t, w.Listeners.PutListener(Listener{Path: "warren/listeners/a", State: ListenerWaiting}))
	s := r.watching()
	if row, ok := s.Listener("warren/listeners/a"); !ok || row.State != ListenerWaiting {
		t.Fatalf("row = %+v, %v", row, ok)
	}
	must(t, w.Listeners.PutListener(Listener{Path: "warren/listeners/b", State: ListenerConsuming}))
	must(t, w.Publishers.PutPublisher(Publisher{ID: "warren/publishers/publishers-1", State: PublisherWaiting}))
	if fired(s) {
		t.Fatal("a write of rows the snapshot did not read fired its watch")
	}
	must(t, w.Listeners.PutListener(Listener{Path: "warren/listeners/a", State: ListenerConsuming}))
	if !fired(s) {
		t.Fatal("a write of the row the snapshot read did not fire its watch")
	}
	if row, _ := s.Listener("warren/listeners/a"); row.State != ListenerWaiting {
		t.Fatalf("the snapshot saw a later commit: %+v", row)
	}
}

func TestWait_EndsWhenTheConditionHoldsAfterAWrite(t *testing.T) {
	r, w := New()
	must(t, w.Listeners.PutListener(Listener{Path: "warren/listeners/a", State: ListenerWaiting}))
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		once := false
		done <- r.Wait(within(t, 5*time.Second), func(s *Snapshot) (bool, error) {
			row, _ := s.Listener("warren/listeners/a")
			if !once {
				once = true
				close(first)
			}
			return row.State == ListenerConsuming, nil
		})
	}()
	<-first
	must(t, w.Listeners.PutListener(Listener{Path: "warren/listeners/a", State: ListenerConsuming}))
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v", err)
	}
}

func TestWait_ReturnsTheConditionsError(t *testing.T) {
	r, _ := New()
	boom := errors.New("boom")
	if err := r.Wait(within(t, 5*time.Second), func(*Snapshot) (bool, error) { return false, boom }); err != boom {
		t.Fatalf("Wait = %v, want boom", err)
	}
}

func TestWait_WakesOnAWatchedOutsideChannel(t *testing.T) {
	r, _ := New()
	wake := make(chan struct{}, 1)
	flag := make(chan bool, 1)
	flag <- false
	done := make(chan error, 1)
	go func() {
		done <- r.Wait(within(t, 5*time.Second), func(s *Snapshot) (bool, error) {
			s.Watch(wake)
			f := <-flag
			flag <- f
			return f, nil
		})
	}()
	<-flag
	flag <- true
	wake <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v", err)
	}
}

func TestChanged_FiresOnAnyTableAndEndsWithItsContext(t *testing.T) {
	r, w := New()
	ctx, cancel := context.WithCancel(context.Background())
	ch := r.Changed(ctx)
	must(t, w.Workers.PutWorker(RPCWorker{Path: "warren/workers/workers-1"}))
	if err := <-ch; err != nil {
		t.Fatalf("Changed after a write = %v, want nil", err)
	}
	ch = r.Changed(ctx)
	cancel()
	if err := <-ch; !errors.Is(err, context.Canceled) {
		t.Fatalf("Changed after cancel = %v, want context.Canceled", err)
	}
}

func TestSnapshot_ActorsUnderListsThePathAndItsSubtreeOnly(t *testing.T) {
	r, w := New()
	for _, p := range []string{"warren", "warren/a", "warren/a/b", "warrenish", "other"} {
		must(t, w.Actors.PutActor(Actor{Path: p}))
	}
	got := r.Snapshot().ActorsUnder("warren")
	if len(got) != 3 || got[0] != "warren" || got[1] != "warren/a" || got[2] != "warren/a/b" {
		t.Fatalf("ActorsUnder(warren) = %v", got)
	}
}

func TestActorsWriter_UpdateActorChangesTheRowItRead(t *testing.T) {
	r, w := New()
	must(t, w.Actors.UpdateActor("warren/x", func(a *Actor, found bool) bool {
		if found {
			t.Error("found a row that was never written")
		}
		a.Path, a.Restarts = "warren/x", 1
		return true
	}))
	must(t, w.Actors.UpdateActor("warren/x", func(a *Actor, found bool) bool {
		a.Restarts++
		return found
	}))
	must(t, w.Actors.UpdateActor("warren/x", func(a *Actor, _ bool) bool {
		a.Restarts = 99
		return false // no write
	}))
	if row, ok := r.Actor("warren/x"); !ok || row.Restarts != 2 {
		t.Fatalf("row = %+v, %v; want 2 restarts", row, ok)
	}
}

func TestWriters_AZeroWriterFailsInsteadOfWriting(t *testing.T) {
	var w ListenersWriter
	if err := w.PutListener(Listener{Path: "x"}); !errors.Is(err, errNoWriter) {
		t.Fatalf("PutListener on a zero writer = %v, want errNoWriter", err)
	}
}
