package treetest

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/supervisor"
)

// Probe is a consumer of the assignments protocol: an actor that asks for
// a channel and reports every notice it gets on a Go channel.
type Probe struct {
	PID    *actor.PID
	events chan any
}

// SpawnProbe spawns a probe named name that sends req (with itself as
// Consumer) to the tree's assignments actor; it is stopped when the test
// ends.
func SpawnProbe(t testing.TB, tree *supervisor.Tree, name string, req actors.RequestChannel) *Probe {
	t.Helper()
	p := &Probe{events: make(chan any, 64)}
	props := actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			req.Consumer = c.Self()
			c.Send(tree.PID(actors.AssignmentsName), &req)
		case *actors.ChannelAssigned, *actors.ChannelLost:
			p.events <- m
		}
	})
	pid, err := tree.System().Root.SpawnNamed(props, name)
	if err != nil {
		t.Fatalf("spawn probe %s: %v", name, err)
	}
	p.PID = pid
	t.Cleanup(func() { _ = tree.System().Root.StopFuture(pid).Wait() })
	return p
}

// Assigned waits for the next ChannelAssigned, skipping ChannelLost
// notices.
func (p *Probe) Assigned(t testing.TB, d time.Duration) *actors.ChannelAssigned {
	t.Helper()
	a, _ := p.AssignedWithLosses(t, d)
	return a
}

// AssignedWithLosses waits for the next ChannelAssigned and returns it with
// the ChannelLost notices that came before it.
func (p *Probe) AssignedWithLosses(t testing.TB, d time.Duration) (a *actors.ChannelAssigned, lost []*actors.ChannelLost) {
	t.Helper()
	ctx := testkit.Within(t, d)
	for {
		select {
		case ev := <-p.events:
			switch m := ev.(type) {
			case *actors.ChannelAssigned:
				return m, lost
			case *actors.ChannelLost:
				lost = append(lost, m)
			}
		case <-ctx.Done():
			t.Fatalf("probe %s: no channel assigned within %v (lost: %d)", p.PID.Id, d, len(lost))
		}
	}
}

// Lost waits for the next notice, which must be a ChannelLost.
func (p *Probe) Lost(t testing.TB, d time.Duration) *actors.ChannelLost {
	t.Helper()
	ctx := testkit.Within(t, d)
	for {
		select {
		case ev := <-p.events:
			if m, ok := ev.(*actors.ChannelLost); ok {
				return m
			}
			t.Fatalf("probe %s: got %T, want ChannelLost", p.PID.Id, ev)
		case <-ctx.Done():
			t.Fatalf("probe %s: no ChannelLost within %v", p.PID.Id, d)
		}
	}
}

// Quiet fails the test if a notice is waiting now (testkit.Quiet): call it
// once an event shows that a notice would have come first.
func (p *Probe) Quiet(t testing.TB) {
	t.Helper()
	testkit.Quiet(t, p.events, "notice for probe "+p.PID.Id)
}
