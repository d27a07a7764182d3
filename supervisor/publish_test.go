package supervisor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/registry"
)

func startOfflineWith(t *testing.T, pub publish.Config) *Tree {
	t.Helper()
	tree, err := Start(Config{Zones: []Zone{{Name: "local", Brokers: []string{closedPort}}}, Publish: pub}, WithLogger(DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-tree.Done(): // a test shut it down (a second Shutdown would panic)
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tree.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return tree
}

func TestTree_StartsPublishersThatWaitForAChannel(t *testing.T) {
	tree := startOfflineWith(t, publish.Config{Publishers: 3})
	for _, name := range []string{"publishers-1", "publishers-2", "publishers-3"} {
		path := "warren/publishers/" + name
		waitActor(t, tree, path, "waiting", func(a registry.Actor, ok bool) bool { return ok && a.Detail == "waiting" })
		if row, ok := tree.Registry().Publisher(path); !ok || row.State != registry.PublisherWaiting || row.Zone != "local" {
			t.Fatalf("publishers row %s = %+v, %v", path, row, ok)
		}
	}
	if sup, _ := tree.Registry().Actor("warren/publishers"); sup.Kind != registry.Supervisor {
		t.Fatalf("pool supervisor = %+v", sup)
	}
}

func TestTree_PublishWithoutBroker(t *testing.T) {
	tree := startOfflineWith(t, publish.Config{Buffer: 1, MaxWait: 2 * time.Second})
	t.Run("waits MaxWait and names why", func(t *testing.T) {
		err := tree.Publish(context.Background(), "kapps", "x", []byte(`{}`), publish.Confirm())
		if !errors.Is(err, publish.ErrNoChannel) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a full buffer refuses at once", func(t *testing.T) {
		waiting := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		waitBuffered(t, tree, 0) // the rows may still count the previous wait
		go func() { waiting <- tree.Publish(ctx, "kapps", "x", nil) }()
		waitBuffered(t, tree, 1)
		if err := tree.Publish(context.Background(), "kapps", "y", nil); !errors.Is(err, publish.ErrBufferFull) {
			t.Fatalf("second publish = %v", err)
		}
		cancel()
		if err := <-waiting; !errors.Is(err, context.Canceled) || !errors.Is(err, publish.ErrNoChannel) {
			t.Fatalf("cancelled publish = %v", err)
		}
	})
	// Shutdown's drain lets a publish waiting for a channel wait out its
	// MaxWait (a broker may come back meanwhile) before the publishers stop.
	t.Run("a publish waiting at shutdown waits out its MaxWait", func(t *testing.T) {
		waiting := make(chan error, 1)
		waitBuffered(t, tree, 0)
		go func() { waiting <- tree.Publish(context.Background(), "kapps", "x", nil) }()
		waitBuffered(t, tree, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tree.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		// ErrNoChannel after its MaxWait, not ErrStopped at the shutdown.
		if err := <-waiting; !errors.Is(err, publish.ErrNoChannel) || !strings.Contains(err.Error(), "waited the maximum") {
			t.Fatalf("publish waiting at shutdown = %v", err)
		}
	})
}

// waitBuffered waits until n publishes wait in the buffer, as the
// publishers rows report them.
func waitBuffered(t *testing.T, tree *Tree, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := tree.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		var got int64
		for _, p := range s.Publishers() {
			got += p.Buffered
		}
		return got == n, nil
	})
	if err != nil {
		t.Fatalf("%d buffered publishes not reported: %v", n, err)
	}
}

func TestStart_BadPublishConfigFails(t *testing.T) {
	tree, err := Start(Config{Zones: []Zone{{Name: "local", Brokers: []string{closedPort}}}, Publish: publish.Config{Buffer: -5}}, WithLogger(DiscardLogger()))
	if tree != nil {
		t.Fatal("Start returned a tree for a bad publish config")
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Section != "publish" || err.Error() != "warren: config: publish: buffer: must not be negative" {
		t.Fatalf("err = %v", err)
	}
}

func TestTree_WithoutPublishers(t *testing.T) {
	tree := startOfflineWith(t, publish.Config{Publishers: -1})
	if err := tree.Publish(context.Background(), "kapps", "x", nil); !errors.Is(err, publish.ErrStopped) {
		t.Fatalf("err = %v", err)
	}
	if tree.Env().Replies != nil {
		t.Fatal("listeners reply through publishers that do not exist")
	}
	if _, ok := tree.Registry().Actor("warren/publishers"); ok {
		t.Fatal("a publishers pool runs")
	}
}

func TestAdmin_PublishersSumsTheRows(t *testing.T) {
	tr := adminTestTree(t)
	var empty AdminPublishers
	if code, body := adminGet(t, tr.AdminHandler(), "GET", "/publishers", &empty); code != 200 || empty.Publishers == nil || !strings.Contains(body, `"publishers": []`) {
		t.Fatalf("empty: %d %s", code, body)
	}
	adminWrite(t, tr, func(w adminTx) error {
		for _, p := range []registry.Publisher{
			{ID: "warren/publishers/publishers-1", State: registry.PublisherReady, Published: 10, Confirmed: 4, Buffered: 1},
			{ID: "warren/publishers/publishers-2", State: registry.PublisherBlocked, Published: 5, Returned: 2, Dropped: 3},
		} {
			if err := w.PutPublisher(p); err != nil {
				return err
			}
		}
		return nil
	})
	var got AdminPublishers
	adminGet(t, tr.AdminHandler(), "GET", "/publishers", &got)
	if got.Size != 2 || got.Published != 15 || got.Confirmed != 4 || got.Returned != 2 || got.Buffered != 1 || got.Dropped != 3 ||
		got.Publishers[1].State != registry.PublisherBlocked {
		t.Fatalf("GET /publishers = %+v", got)
	}
}
