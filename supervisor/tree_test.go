package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// closedPort is a broker URI nothing listens on: the tree runs, its
// connection keeps failing, and no test depends on a broker.
const closedPort = "amqp://guest:guest@127.0.0.1:1/"

func startOffline(t *testing.T) *Tree {
	t.Helper()
	tree, err := Start(Config{Zones: []Zone{{Name: "local", Brokers: []string{closedPort}}}}, WithLogger(DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tree.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return tree
}

func waitActor(t *testing.T, tree *Tree, path string, what string, cond func(registry.Actor, bool) bool) registry.Actor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var row registry.Actor
	var ok bool
	err := tree.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		row, ok = s.Actor(path)
		return cond(row, ok), nil
	})
	if err != nil {
		t.Fatalf("%s: %s not reached (row %+v, present %v)", path, what, row, ok)
	}
	return row
}

type boom struct{}

// crashyProps is a worker that panics on boom, carrying Warren's lifecycle
// middleware like every tree actor.
func crashyProps(tree *Tree) *actor.Props {
	return actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(boom); ok {
			panic(errors.New("boom"))
		}
	}, actor.WithReceiverMiddleware(tree.Env().Lifecycle(registry.Worker, "")))
}

func TestTree_StartsKazooChildrenWithoutABroker(t *testing.T) {
	tree := startOffline(t)
	for _, name := range []string{"connections", "connection_sup", "federated_listeners_sup", "assignments", "bootstrap"} {
		waitActor(t, tree, "warren/"+name, "running", func(a registry.Actor, ok bool) bool { return ok && a.Status == registry.Running })
	}
	if tree.Ready() {
		t.Fatal("ready with no broker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := tree.WaitReady(ctx); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v", err)
	}
}

func TestSupervisor_RestartsAFailingChildAndCountsIt(t *testing.T) {
	tree := startOffline(t)
	res, err := tree.System().Root.RequestFuture(tree.PID(actors.FederatedName), &actors.SpawnChild{Name: "crashy", Props: crashyProps(tree)}, 5*time.Second).Result()
	if err != nil || res.(*actors.ChildSpawned).Err != nil {
		t.Fatalf("spawn: %v %+v", err, res)
	}
	pid := res.(*actors.ChildSpawned).PID
	path := "warren/federated_listeners_sup/crashy"
	waitActor(t, tree, path, "running", func(a registry.Actor, ok bool) bool { return ok && a.Status == registry.Running })
	tree.System().Root.Send(pid, boom{})
	tree.System().Root.Send(pid, boom{})
	row := waitActor(t, tree, path, "restarted twice", func(a registry.Actor, ok bool) bool {
		return ok && a.Restarts == 2 && a.Status == registry.Running
	})
	if row.Parent != "warren/federated_listeners_sup" || row.Kind != registry.Worker {
		t.Fatalf("row = %+v", row)
	}
}

// Past 5 restarts in 10s the supervisor itself fails (OTP semantics): the
// root restarts federated_listeners_sup, which comes back empty.
func TestSupervisor_EscalatesPastItsIntensity(t *testing.T) {
	tree := startOffline(t)
	res, err := tree.System().Root.RequestFuture(tree.PID(actors.FederatedName), &actors.SpawnChild{Name: "crashy", Props: crashyProps(tree)}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	pid := res.(*actors.ChildSpawned).PID
	for range DefaultIntensity + 1 {
		tree.System().Root.Send(pid, boom{})
	}
	sup := waitActor(t, tree, "warren/federated_listeners_sup", "restarted by the root", func(a registry.Actor, ok bool) bool {
		return ok && a.Restarts == 1 && a.Status == registry.Running
	})
	if sup.Strategy != "simple_one_for_one 5/10s" {
		t.Fatalf("row = %+v", sup)
	}
	waitActor(t, tree, "warren/federated_listeners_sup/crashy", "gone", func(_ registry.Actor, ok bool) bool { return !ok })
	if root, _ := tree.Registry().Actor("warren"); root.Status != registry.Running || root.Restarts != 0 {
		t.Fatalf("root = %+v", root)
	}
	select {
	case <-tree.Done():
		t.Fatalf("tree stopped: %v", tree.Err())
	default:
	}
}

func TestTree_ShutdownTwiceIsHarmless(t *testing.T) {
	tree, err := Start(Config{Zones: []Zone{{Name: "local", Brokers: []string{closedPort}}}}, WithLogger(DiscardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tree.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tree.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	select {
	case <-tree.Done():
	default:
		t.Fatal("Done not closed after Shutdown")
	}
}

func TestTree_RequestHonoursACancelledContext(t *testing.T) {
	tree := startOffline(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tree.AddBroker(ctx, "amqp://guest:guest@127.0.0.1:3/", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("AddBroker with a cancelled ctx = %v", err)
	}
	// A ctx cancelled while the request waits ends the wait: the root's
	// listeners supervisor never answers a message it does not know.
	ctx, cancel = context.WithCancel(context.Background())
	// Nothing else can end it: returning context.Canceled is the proof.
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := tree.request(ctx, tree.PID(actors.FederatedName), &struct{}{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("request = %v, want canceled", err)
	}
}
