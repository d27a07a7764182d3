package actors_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// closedPort is a broker URI nothing listens on: dials are refused at once.
const closedPort = "amqp://guest:guest@127.0.0.1:1/"

// startTree starts a tree of cfg (one local zone of uris when cfg has no
// zones) with treetest.Start: shut down when the test ends.
func startTree(t *testing.T, cfg supervisor.Config, uris ...string) *supervisor.Tree {
	t.Helper()
	if len(cfg.Zones) == 0 {
		cfg.Zones = []supervisor.Zone{{Name: "local", Brokers: uris}}
	}
	tree, _ := treetest.Start(t, cfg)
	return tree
}

// waitConn waits up to 10 s for the connections row of id to satisfy cond.
func waitConn(t *testing.T, tree *supervisor.Tree, id, what string, cond func(registry.Connection) bool) registry.Connection {
	t.Helper()
	return treetest.WaitConnection(t, tree, id, 10*time.Second, what, cond)
}

func TestConnection_RefusedDialsRetryWithBackoff(t *testing.T) {
	cfg := supervisor.Config{Connection: actors.ConnectionOptions{Backoff: actors.Backoff{First: 20 * time.Millisecond, Max: 60 * time.Millisecond}}}
	tree := startTree(t, cfg, closedPort)
	row := waitConn(t, tree, "127.0.0.1:1", "three refused dials", func(c registry.Connection) bool { return c.Attempts >= 3 })
	if row.State != registry.Disconnected && row.State != registry.Connecting {
		t.Fatalf("state %s after refused dials, want disconnected or connecting", row.State)
	}
	if row.Available {
		t.Fatal("a broker that refuses every dial is available")
	}
	row = waitConn(t, tree, "127.0.0.1:1", "a refusal on record", func(c registry.Connection) bool {
		return c.State == registry.Disconnected && c.LastError != ""
	})
	if !strings.Contains(row.LastError, "connection refused") || strings.Contains(row.LastError, "guest:guest") {
		t.Fatalf("last error %q: want the refusal, without credentials", row.LastError)
	}
	if row.NextDial.IsZero() {
		t.Fatal("no next dial scheduled after a refused dial")
	}
}

func TestConnection_GivesUpAfterMaxAttempts(t *testing.T) {
	cfg := supervisor.Config{Connection: actors.ConnectionOptions{Backoff: actors.Backoff{First: 10 * time.Millisecond, Max: 20 * time.Millisecond, MaxAttempts: 2}}}
	tree := startTree(t, cfg, closedPort)
	row := waitConn(t, tree, "127.0.0.1:1", "failed", func(c registry.Connection) bool { return c.State == registry.Failed })
	if !strings.Contains(row.LastError, actors.ErrGaveUp.Error()) || row.Attempts != 2 {
		t.Fatalf("row %+v: want gave up after 2 attempts", row)
	}
	if !row.NextDial.IsZero() {
		t.Fatalf("a connection that gave up still has a next dial at %v", row.NextDial)
	}
}

func TestConnections_AddAndRemoveBrokers(t *testing.T) {
	tree := startTree(t, supervisor.Config{}, closedPort)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waitConn(t, tree, "127.0.0.1:1", "its row", func(registry.Connection) bool { return true })

	if _, err := tree.AddBroker(ctx, closedPort, ""); err == nil || !strings.Contains(err.Error(), "already added") {
		t.Fatalf("adding a broker twice: %v", err)
	}
	_, err := tree.AddBroker(ctx, "amqp://kazoo:s3cret@127.0.0.1:99x/", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a bad URI: err = %v; want an error without the password", err)
	}
	if err := tree.RemoveBroker(ctx, "nope:1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("removing an unknown broker: %v", err)
	}

	id, err := tree.AddBroker(ctx, "amqp://guest:guest@127.0.0.1:2/", "remote")
	if err != nil || id != "127.0.0.1:2" {
		t.Fatalf("AddBroker = %q, %v", id, err)
	}
	row := waitConn(t, tree, id, "its row", func(registry.Connection) bool { return true })
	if row.Zone != "remote" || row.Local {
		t.Fatalf("row %+v: want zone remote, not local", row)
	}
	if err := tree.RemoveBroker(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := tree.Registry().Connection(id); ok {
		t.Fatal("the removed broker's row is still there")
	}
	if _, ok := tree.Registry().Actor(actors.RootName + "/" + actors.ConnSupName + "/" + id); ok {
		t.Fatal("the removed broker's connection actor is still in the tree")
	}
}

func TestBootstrap_ReportsWaitingWhileNoLocalBroker(t *testing.T) {
	tree := startTree(t, supervisor.Config{BootstrapTimeout: 50 * time.Millisecond}, closedPort)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := tree.WaitReady(ctx)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1: dial") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("WaitReady without a broker = %v; want not ready naming the broker's refusal", err)
	}
	if tree.Ready() {
		t.Fatal("ready without a broker")
	}
}

// The port probe shortens only a wait that began with a refused TCP
// connect: the broker's port opening is noticed at once, long before the
// backoff's delay; once a dial got a TCP connection and failed later (here
// the port accepts and closes), the next dial waits its whole delay, at the
// time the row announced.
func TestConnection_ProbeShortensOnlyARefusedConnectsWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the first dial is refused
	uri := "amqp://guest:guest@" + addr + "/"
	cfg := supervisor.Config{Connection: actors.ConnectionOptions{Backoff: actors.Backoff{First: 3 * time.Second, Max: 3 * time.Second}}}
	cfg.Publish.Publishers, cfg.RPC.Workers = -1, -1 // one connection: its dials are the port's only connections
	tree := startTree(t, cfg, uri)
	refused := waitConn(t, tree, addr, "a refused dial", func(c registry.Connection) bool {
		return c.Attempts == 1 && c.State == registry.Disconnected && !c.NextDial.IsZero()
	})

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s taken by another process while the dial was refused (rerun): %v", addr, err)
	}
	opened := time.Now()
	accepts := make(chan time.Time, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepts)
				return
			}
			accepts <- time.Now()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	next := func(what string) time.Time {
		t.Helper()
		select {
		case at, ok := <-accepts:
			if !ok {
				t.Fatalf("%s: listener closed", what)
			}
			return at
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no connection within 10s", what)
		}
		return time.Time{}
	}
	next("the probe")
	dialled := next("the dial after the probe")
	if d := dialled.Sub(opened); d > time.Second || !dialled.Before(refused.NextDial) {
		t.Fatalf("dialled %v after the port opened (the row said %v): the probe did not shorten the wait",
			d.Round(time.Millisecond), refused.NextDial.Sub(opened).Round(time.Millisecond))
	}
	failed := waitConn(t, tree, addr, "the dial that got a connection failed", func(c registry.Connection) bool {
		return c.Attempts == 2 && c.State == registry.Disconnected && !c.NextDial.IsZero()
	})
	third := next("the dial after that")
	if d := third.Sub(failed.NextDial); d < -50*time.Millisecond {
		t.Fatalf("dialled %v before the row's next dial: the wait after a dial that reached the port was shortened", -d.Round(time.Millisecond))
	}
}
