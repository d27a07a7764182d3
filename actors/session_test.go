package actors

import (
	"errors"
	"sync"
	"testing"

	"github.com/warrenmq/warren/internal/nullbroker"
)

// stream accounts for every channel asked for, once: the opened ones one
// by one and the rest in its last call, whatever the interleaving of its
// workers when channel_max runs out. A count short of n left the
// assignments actor believing channels were still on their way, and it
// never asked that broker again.
func TestSession_StreamAccountsForEveryChannelAtChannelMax(t *testing.T) {
	nb, err := nullbroker.Start(nullbroker.Config{ChannelMax: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	spec, err := BrokerSpec{Options: ConnectionOptions{URL: nb.URL()}}.Normalize("local")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := spec.Options.plan()
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := dial(spec, plan, &dialSlot{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(setupCloseTimeout)
	for round := range 30 {
		var (
			mu            sync.Mutex
			asked, opened int
			failures      int
			last          error
			chans         []*openedChannel
		)
		const n = 40
		s.stream(spec, n, func(cs []*openedChannel, k int, err error) {
			mu.Lock()
			defer mu.Unlock()
			asked += k
			opened += len(cs)
			chans = append(chans, cs...)
			if err != nil {
				failures++
				last = err
			}
		})
		if asked != n || failures != 1 || !errors.Is(last, ErrNoChannelLeft) {
			t.Fatalf("round %d: %d of %d channels accounted for (%d opened, %d failure calls, last %v)", round, asked, n, opened, failures, last)
		}
		for _, c := range chans {
			_ = c.ch.Close()
		}
	}
}
