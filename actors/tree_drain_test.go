package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// drainPair starts two null brokers of zone "local" and a tree on them
// with cfg, waits until both are connected, and returns them primary (the
// smallest id, where floats go first) first.
func drainPair(t *testing.T, cfg supervisor.Config) (*supervisor.Tree, *nullbroker.Server, *nullbroker.Server) {
	t.Helper()
	a, b := startNull(t, nullbroker.Config{}), startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(cfg), a, b)
	for _, nb := range []*nullbroker.Server{a, b} {
		waitConn(t, tree, idOf(t, nb), "connected", func(c registry.Connection) bool { return c.Available })
	}
	if idOf(t, b) < idOf(t, a) {
		a, b = b, a
	}
	return tree, a, b
}

// drainAsync runs tree.DrainBroker(id) within d; its result arrives on the
// returned channel.
func drainAsync(t *testing.T, tree *supervisor.Tree, id string, d time.Duration) <-chan error {
	done := make(chan error, 1)
	ctx := within(t, d)
	go func() { done <- tree.DrainBroker(ctx, id) }()
	return done
}

func waitClosed(t *testing.T, ch *amqp.Channel, what string) {
	t.Helper()
	select {
	case <-ch.NotifyClose(make(chan *amqp.Error, 1)):
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still open", what)
	}
}

// release sends the assignments actor p's ReleaseChannel for channel id.
func release(tree *supervisor.Tree, p *treetest.Probe, id string) {
	tree.System().Root.Send(tree.PID(actors.AssignmentsName), &actors.ReleaseChannel{Consumer: p.PID, ID: id})
}

func TestDrain_CanMoveFloatGetsMovedFromAndHoldsBothUntilItReleases(t *testing.T) {
	tree, primary, other := drainPair(t, supervisor.Config{Prechannels: -1})
	p := treetest.SpawnProbe(t, tree, "mover", actors.RequestChannel{App: "test", CanMove: true})
	first := p.Assigned(t, 5*time.Second)
	if first.Broker != idOf(t, primary) {
		t.Fatalf("float on %s, want the primary %s", first.Broker, idOf(t, primary))
	}
	done := drainAsync(t, tree, idOf(t, primary), 10*time.Second)
	moved := p.Assigned(t, 5*time.Second)
	if moved.MovedFrom != first.ID || !moved.Reconnect || moved.Broker != idOf(t, other) || moved.ID == first.ID {
		t.Fatalf("move %+v: want MovedFrom %s, Reconnect, on %s", moved, first.ID, idOf(t, other))
	}
	treetest.Eventually(t, tree, 5*time.Second, "both channels the consumer's in the table", func() bool {
		row, ok := tree.Registry().AssignmentOf(p.PID.Id)
		held := tree.Registry().HeldFloats(idOf(t, primary))
		return ok && row.Channel == moved.ID && row.State == registry.Assigned &&
			len(held) == 1 && held[0].Channel == first.ID && held[0].Consumer == p.PID.Id && held[0].State == registry.Moving
	})
	if first.Channel.IsClosed() {
		t.Fatal("the old channel closed before the consumer released it")
	}
	select {
	case err := <-done:
		t.Fatalf("DrainBroker returned %v while the old channel was held", err)
	default:
	}
	release(tree, p, "no-such-channel") // ignored
	release(tree, p, first.ID)
	if err := <-done; err != nil {
		t.Fatalf("DrainBroker: %v", err)
	}
	waitClosed(t, first.Channel, "the released old channel")
	if row, ok := tree.Registry().AssignmentOf(p.PID.Id); !ok || row.Channel != moved.ID || moved.Channel.IsClosed() {
		t.Fatalf("after the releases: row %+v (ok %v), new channel closed %v", row, ok, moved.Channel.IsClosed())
	}
	if row, _ := tree.Registry().Connection(idOf(t, primary)); !row.Draining {
		t.Fatalf("row %+v: want Draining", row)
	}
	p.Quiet(t)
}

func TestDrain_ConsumerStoppingReleasesBothChannels(t *testing.T) {
	tree, primary, _ := drainPair(t, supervisor.Config{Prechannels: -1})
	p := treetest.SpawnProbe(t, tree, "stopper", actors.RequestChannel{App: "test", CanMove: true})
	first := p.Assigned(t, 5*time.Second)
	done := drainAsync(t, tree, idOf(t, primary), 10*time.Second)
	moved := p.Assigned(t, 5*time.Second)
	if err := tree.System().Root.StopFuture(p.PID).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("DrainBroker: %v", err)
	}
	waitClosed(t, first.Channel, "the old channel")
	waitClosed(t, moved.Channel, "the new channel")
	treetest.Eventually(t, tree, 5*time.Second, "no row left", func() bool {
		_, ok := tree.Registry().AssignmentOf(p.PID.Id)
		return !ok && len(tree.Registry().HeldFloats(idOf(t, primary))) == 0
	})
}

func TestDrain_FloatWithoutCanMoveLosesItsChannelThenGetsTheOtherBroker(t *testing.T) {
	tree, primary, other := drainPair(t, supervisor.Config{Prechannels: -1})
	p := treetest.SpawnProbe(t, tree, "plain", actors.RequestChannel{App: "test"})
	first := p.Assigned(t, 5*time.Second)
	done := drainAsync(t, tree, idOf(t, primary), 10*time.Second)
	lost := p.Lost(t, 5*time.Second)
	if lost.ID != first.ID || !errors.Is(lost.Err, actors.ErrDraining) {
		t.Fatalf("lost %+v: want %s with ErrDraining", lost, first.ID)
	}
	again := p.Assigned(t, 5*time.Second)
	if again.MovedFrom != "" || !again.Reconnect || again.Broker != idOf(t, other) {
		t.Fatalf("reassignment %+v: want Reconnect on %s, no MovedFrom", again, idOf(t, other))
	}
	if err := <-done; err != nil {
		t.Fatalf("DrainBroker: %v", err)
	}
	waitClosed(t, first.Channel, "the lost channel")
}

func TestDrain_FailsByItsCtxNamingTheHolder(t *testing.T) {
	tree, primary, _ := drainPair(t, supervisor.Config{Prechannels: -1})
	p := treetest.SpawnProbe(t, tree, "holder", actors.RequestChannel{App: "test", CanMove: true})
	first := p.Assigned(t, 5*time.Second)
	done := drainAsync(t, tree, idOf(t, primary), 300*time.Millisecond)
	if moved := p.Assigned(t, 5*time.Second); moved.MovedFrom != first.ID {
		t.Fatalf("move %+v", moved)
	}
	err := <-done // never released
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), p.PID.Id) || !strings.Contains(err.Error(), first.ID) {
		t.Fatalf("DrainBroker = %v: want the deadline, naming %s and %s", err, p.PID.Id, first.ID)
	}
}

func TestDrain_NewFloatsAvoidTheDrainingBrokerAndStickiesStay(t *testing.T) {
	tree, primary, other := drainPair(t, supervisor.Config{Prechannels: 2})
	pid := idOf(t, primary)
	sticky := treetest.SpawnProbe(t, tree, "sticky", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: pid, CanMove: true})
	held := sticky.Assigned(t, 5*time.Second)
	if err := tree.DrainBroker(within(t, 5*time.Second), pid); err != nil {
		t.Fatalf("DrainBroker with only a sticky on it: %v", err)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the draining broker's pool closed, the other's full", func() bool {
		return len(tree.Registry().Prechannels(pid)) == 0 && len(tree.Registry().Prechannels(idOf(t, other))) == 2
	})
	treetest.Eventually(t, tree, 5*time.Second, "the connection actor's line says draining", func() bool {
		row, _ := tree.Registry().Connection(pid)
		a, _ := tree.Registry().Actor(row.Actor)
		return row.Draining && a.Detail == "draining"
	})
	float := treetest.SpawnProbe(t, tree, "new-float", actors.RequestChannel{App: "test"})
	if got := float.Assigned(t, 5*time.Second); got.Broker != idOf(t, other) {
		t.Fatalf("new float on %s, want %s", got.Broker, idOf(t, other))
	}
	late := treetest.SpawnProbe(t, tree, "late-sticky", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: pid})
	if got := late.Assigned(t, 5*time.Second); got.Broker != pid {
		t.Fatalf("new sticky on %s, want its broker %s", got.Broker, pid)
	}
	if held.Channel.IsClosed() {
		t.Fatal("the sticky's channel closed")
	}
	sticky.Quiet(t)
}

func TestDrain_RefusedForTheZoneLastBroker(t *testing.T) {
	nb := startNull(t, nullbroker.Config{})
	tree := startNullTree(t, fast(supervisor.Config{Prechannels: -1}), nb)
	waitConn(t, tree, idOf(t, nb), "connected", func(c registry.Connection) bool { return c.Available })
	p := treetest.SpawnProbe(t, tree, "only", actors.RequestChannel{App: "test", CanMove: true})
	p.Assigned(t, 5*time.Second)
	err := tree.DrainBroker(within(t, 5*time.Second), idOf(t, nb))
	if !errors.Is(err, actors.ErrLastBroker) || !strings.Contains(err.Error(), `zone "local"`) {
		t.Fatalf("DrainBroker of the zone's last broker = %v: want ErrLastBroker naming the zone", err)
	}
	if row, _ := tree.Registry().Connection(idOf(t, nb)); row.Draining {
		t.Fatal("refused, yet marked draining")
	}
	if err := tree.DrainBroker(within(t, 5*time.Second), "nowhere:5672"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("DrainBroker of an unknown broker = %v: want ErrNotFound", err)
	}
	p.Quiet(t)
}

func TestDrain_MarkSurvivesTheBrokerRestartUntilUndrain(t *testing.T) {
	tree, primary, other := drainPair(t, supervisor.Config{Prechannels: -1})
	pid := idOf(t, primary)
	if err := tree.DrainBroker(within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	moved := treetest.SpawnProbe(t, tree, "before-restart", actors.RequestChannel{App: "test", CanMove: true})
	if got := moved.Assigned(t, 5*time.Second); got.Broker != idOf(t, other) {
		t.Fatalf("float on %s, want %s", got.Broker, idOf(t, other))
	}
	primary.Kill() // the operator stops it, upgrades it, starts it
	waitConn(t, tree, pid, "reconnected, still draining", func(c registry.Connection) bool {
		return c.Available && c.Connects == 2 && c.Draining
	})
	after := treetest.SpawnProbe(t, tree, "after-restart", actors.RequestChannel{App: "test"})
	if got := after.Assigned(t, 5*time.Second); got.Broker != idOf(t, other) {
		t.Fatalf("float after the restart on %s, want %s", got.Broker, idOf(t, other))
	}
	if err := tree.UndrainBroker(within(t, 5*time.Second), pid); err != nil {
		t.Fatal(err)
	}
	waitConn(t, tree, pid, "undrained", func(c registry.Connection) bool { return !c.Draining })
	undrained := treetest.SpawnProbe(t, tree, "after-undrain", actors.RequestChannel{App: "test"})
	if got := undrained.Assigned(t, 5*time.Second); got.Broker != pid {
		t.Fatalf("float after undrain on %s, want the primary %s again", got.Broker, pid)
	}
	moved.Quiet(t) // floats do not move back
	after.Quiet(t)
}

func TestDrain_MarkAndMovesSurviveAnAssignmentsRestart(t *testing.T) {
	tree, primary, other := drainPair(t, supervisor.Config{Prechannels: -1})
	pid := idOf(t, primary)
	p := treetest.SpawnProbe(t, tree, "mover", actors.RequestChannel{App: "test", CanMove: true})
	first := p.Assigned(t, 5*time.Second)
	done := drainAsync(t, tree, pid, 10*time.Second)
	moved := p.Assigned(t, 5*time.Second)
	if moved.MovedFrom != first.ID {
		t.Fatalf("move %+v", moved)
	}
	treetest.Eventually(t, tree, 5*time.Second, "the old channel's row", func() bool { return len(tree.Registry().HeldFloats(pid)) == 1 })
	restartActor(t, tree, tree.PID(actors.AssignmentsName))
	treetest.Eventually(t, tree, 5*time.Second, "the assignments actor restarted", func() bool {
		a, ok := tree.Registry().Actor(tree.PID(actors.AssignmentsName).Id)
		return ok && a.Restarts == 1 && a.Status == registry.Running
	})
	release(tree, p, first.ID) // the new instance knows it still holds the old one
	if err := <-done; err != nil {
		t.Fatalf("DrainBroker: %v", err)
	}
	waitClosed(t, first.Channel, "the released old channel")
	float := treetest.SpawnProbe(t, tree, "after-restart", actors.RequestChannel{App: "test"})
	if got := float.Assigned(t, 5*time.Second); got.Broker != idOf(t, other) {
		t.Fatalf("float after the restart on %s, want %s: the mark was lost", got.Broker, idOf(t, other))
	}
}

// restartActor has pid's supervisor-less restart run, as a crash would.
func restartActor(t *testing.T, tree *supervisor.Tree, pid *actor.PID) {
	t.Helper()
	proc, ok := tree.System().ProcessRegistry.Get(pid)
	if !ok {
		t.Fatalf("no process %s", pid.Id)
	}
	proc.SendSystemMessage(pid, &actor.Restart{})
}

// The broker a float moved to goes down before the float released its old
// channel: the usual rules apply. It loses the new channel and, the
// draining broker being the only one up, gets a channel there, still told
// which old channel it holds; the drain cannot end.
func TestDrain_NewBrokerDownMeanwhileTheUsualRulesApply(t *testing.T) {
	tree, primary, other := drainPair(t, supervisor.Config{Prechannels: -1})
	pid := idOf(t, primary)
	p := treetest.SpawnProbe(t, tree, "mover", actors.RequestChannel{App: "test", CanMove: true})
	first := p.Assigned(t, 5*time.Second)
	done := drainAsync(t, tree, pid, time.Second)
	moved := p.Assigned(t, 5*time.Second)
	if moved.MovedFrom != first.ID || moved.Broker != idOf(t, other) {
		t.Fatalf("move %+v", moved)
	}
	_ = other.Close() // down for good
	if lost := p.Lost(t, 5*time.Second); lost.ID != moved.ID {
		t.Fatalf("lost %+v, want the new channel %s", lost, moved.ID)
	}
	again := p.Assigned(t, 5*time.Second)
	if again.Broker != pid || again.MovedFrom != first.ID || !again.Reconnect {
		t.Fatalf("after the new broker went down: %+v; want a channel on the draining %s, MovedFrom %s", again, pid, first.ID)
	}
	release(tree, p, first.ID)
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), again.ID) {
		t.Fatalf("DrainBroker = %v: want the deadline, naming %s", err, again.ID)
	}
	waitClosed(t, first.Channel, "the released old channel")
}
