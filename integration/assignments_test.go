package integration

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// Two zones, three brokers: floats sit on the local primary; when it dies
// they move to the surviving local broker and are told "reconnected"; a
// sticky consumer of the dead broker waits for it and is served again when
// it comes back; a sticky consumer of the remote zone is untouched.
func TestFault_AssignmentsFloatsMoveStickiesWait(t *testing.T) {
	a1, a2, r1 := StartBroker(t), StartBroker(t), StartBroker(t)
	ids := map[*Broker]string{a1: brokerID(t, a1), a2: brokerID(t, a2), r1: brokerID(t, r1)}
	primary, survivor := a1, a2
	if ids[a2] < ids[a1] { // the primary is the smallest id
		primary, survivor = a2, a1
	}
	cfg := bare(supervisor.Config{LocalZone: "east", Prechannels: 2, Zones: []supervisor.Zone{
		{Name: "east", Brokers: []string{a1.URI(), a2.URI()}},
		{Name: "west", Brokers: []string{r1.URI()}},
	}})
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	waitConn(t, tree, ids[survivor], 20*time.Second, "connected", func(c registry.Connection) bool { return c.Available })
	waitConn(t, tree, ids[r1], 20*time.Second, "connected", func(c registry.Connection) bool { return c.Available })
	treetest.Eventually(t, tree, 10*time.Second, "prechannels on every broker", func() bool {
		return len(tree.Registry().Prechannels(ids[a1])) == 2 && len(tree.Registry().Prechannels(ids[a2])) == 2 &&
			len(tree.Registry().Prechannels(ids[r1])) == 2
	})

	var floats []*treetest.Probe
	for i := range 4 {
		floats = append(floats, treetest.SpawnProbe(t, tree, fmt.Sprintf("float-%d", i), actors.RequestChannel{App: "test"}))
	}
	stickyDead := treetest.SpawnProbe(t, tree, "sticky-primary", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: ids[primary]})
	stickyRemote := treetest.SpawnProbe(t, tree, "sticky-remote", actors.RequestChannel{App: "test", Type: registry.Sticky, Broker: ids[r1]})
	for _, p := range floats {
		if a := p.Assigned(t, 10*time.Second); a.Broker != ids[primary] || a.Reconnect {
			t.Fatalf("float %s assigned %+v, want the primary %s", p.PID.Id, a, ids[primary])
		}
	}
	if a := stickyDead.Assigned(t, 10*time.Second); a.Broker != ids[primary] {
		t.Fatalf("sticky assigned on %s", a.Broker)
	}
	if a := stickyRemote.Assigned(t, 10*time.Second); a.Broker != ids[r1] || a.Zone != "west" {
		t.Fatalf("remote sticky assigned %+v", a)
	}

	primary.Kill(t)
	for _, p := range floats {
		a, lost := p.AssignedWithLosses(t, 10*time.Second)
		if len(lost) != 1 || a.Broker != ids[survivor] || !a.Reconnect {
			t.Fatalf("float %s after the primary died: %+v (lost %d), want a reconnect on %s", p.PID.Id, a, len(lost), ids[survivor])
		}
		if err := a.Channel.ExchangeDeclarePassive("targeted", "direct", false, false, false, false, nil); err != nil {
			t.Fatalf("float %s: new channel unusable: %v", p.PID.Id, err)
		}
	}
	stickyDead.Lost(t, 5*time.Second)
	row, _ := tree.Registry().AssignmentOf(stickyDead.PID.Id)
	if row.State != registry.Reconnecting || row.Broker != ids[primary] {
		t.Fatalf("sticky row while its broker is down = %+v", row)
	}
	stickyRemote.Quiet(t)
	// The survivor's own view: the four floats' channels are there.
	if n := ctlCount(t, survivor, "", "list_channels", "number"); n < 5 {
		t.Errorf("survivor lists %d channels, want at least 1 control + 4 floats", n)
	}

	primary.Start(t)
	a := stickyDead.Assigned(t, 15*time.Second)
	if a.Broker != ids[primary] || !a.Reconnect {
		t.Fatalf("sticky after its broker returned: %+v", a)
	}
	for _, p := range floats { // floats stay where they are: no churn back
		p.Quiet(t)
	}
}

// A channel exception (404 on a passive declare) closes only that channel:
// its consumer gets a new one, the other consumer and the connection are
// untouched.
func TestAssignments_ChannelExceptionReplacesOnlyThatChannel(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	before, _ := tree.Registry().Connection(id)

	victim := treetest.SpawnProbe(t, tree, "victim", actors.RequestChannel{App: "test"})
	bystander := treetest.SpawnProbe(t, tree, "bystander", actors.RequestChannel{App: "test"})
	va := victim.Assigned(t, 5*time.Second)
	ba := bystander.Assigned(t, 5*time.Second)

	_, err := va.Channel.QueueDeclarePassive("no-such-queue", false, false, false, false, nil)
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
		t.Fatalf("passive declare = %v, want 404", err)
	}
	lost := victim.Lost(t, 5*time.Second)
	if lost.ID != va.ID || lost.Err == nil || !strings.Contains(lost.Err.Error(), "NOT_FOUND") {
		t.Fatalf("lost = %+v", lost)
	}
	na := victim.Assigned(t, 5*time.Second)
	if na.ID == va.ID || !na.Reconnect || na.Broker != id || na.Channel.IsClosed() {
		t.Fatalf("replacement = %+v", na)
	}
	bystander.Quiet(t)
	if ba.Channel.IsClosed() {
		t.Fatal("the bystander's channel was closed")
	}
	after, _ := tree.Registry().Connection(id)
	if after.State != registry.Connected || !after.Since.Equal(before.Since) {
		t.Fatalf("connection touched: before %+v after %+v", before, after)
	}
}

// A consumer that stops gives its channel back: the broker closes it.
func TestAssignments_StoppedConsumerReleasesItsChannel(t *testing.T) {
	b := StartBroker(t)
	cfg := bare(oneZone(b.URI()))
	cfg.Prechannels = -1 // none: every channel is opened on demand
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	p := treetest.SpawnProbe(t, tree, "short-lived", actors.RequestChannel{App: "test"})
	a := p.Assigned(t, 5*time.Second)
	if n := ctlCount(t, b, "", "list_channels", "number"); n != 2 {
		t.Fatalf("broker lists %d channels, want control + 1", n)
	}
	closed := a.Channel.NotifyClose(make(chan *amqp.Error, 1))
	if err := tree.System().Root.StopFuture(p.PID).Wait(); err != nil {
		t.Fatal(err)
	}
	treetest.Eventually(t, tree, 5*time.Second, "row released", func() bool {
		_, ok := tree.Registry().AssignmentOf(p.PID.Id)
		return !ok
	})
	select {
	case <-closed:
	case <-within(t, 5*time.Second).Done():
		t.Fatal("released channel still open")
	}
	testkit.Poll(t, 5*time.Second, "broker closed the channel", func() bool {
		return ctlCount(t, b, "", "list_channels", "number") == 1
	})
}

// A broker whose negotiated channel_max is used up gives a clear error on the
// connection row instead of a hang.
func TestAssignments_ChannelMaxGivesClearError(t *testing.T) {
	b := StartBroker(t)
	cfg := bare(oneZone(b.URI()))
	cfg.Connection.ChannelMax = 3 // control channel + 2
	cfg.Prechannels = -1
	cfg.MaxConnections = 1 // no other connection is opened for the third
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	var probes []*treetest.Probe
	for i := range 3 {
		probes = append(probes, treetest.SpawnProbe(t, tree, fmt.Sprintf("cm-%d", i), actors.RequestChannel{App: "test"}))
	}
	row := waitConn(t, tree, id, 10*time.Second, "a channel_max error", func(c registry.Connection) bool {
		return strings.Contains(c.LastError, "no channel left")
	})
	if row.ChannelMax != 3 || !row.Available {
		t.Fatalf("row = %+v", row)
	}
	assigned := func() (n int) {
		for _, a := range tree.Registry().Assignments() {
			if a.State == registry.Assigned {
				n++
			}
		}
		return n
	}
	treetest.Eventually(t, tree, 5*time.Second, "2 consumers assigned (channel_max 3 with the control channel)", func() bool { return assigned() == 2 })
	if n := len(tree.Registry().AssignmentsIn(registry.Waiting)); n != 1 {
		t.Fatalf("%d consumers waiting, want the third one", n)
	}
	_ = probes
}

// The pool of prechannels holds exactly its target: after the consumers
// took theirs, and again after a reconnect (it once held 12, then 11 of 10).
func TestAssignments_PrechannelPoolKeepsItsTargetAcrossReconnects(t *testing.T) {
	b := StartBroker(t)
	cfg := bare(oneZone(b.URI()))
	cfg.Prechannels = 3
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 500 * time.Millisecond}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	var probes []*treetest.Probe
	for i := range 4 {
		probes = append(probes, treetest.SpawnProbe(t, tree, fmt.Sprintf("c-%d", i), actors.RequestChannel{App: "test"}))
	}
	for _, p := range probes {
		p.Assigned(t, 10*time.Second)
	}
	// 1 control channel + 4 assigned + 3 pooled, on the broker as in the table.
	check := func(when string) {
		t.Helper()
		treetest.Eventually(t, tree, 10*time.Second, when+": a pool of 3", func() bool { return len(tree.Registry().Prechannels(id)) == 3 })
		testkit.Poll(t, 10*time.Second, when+": 8 channels on the broker", func() bool {
			return ctlCount(t, b, "", "list_channels", "name") == 8
		})
		if n := len(tree.Registry().Prechannels(id)); n != 3 {
			t.Fatalf("%s: pool of %d, want 3", when, n)
		}
	}
	check("after the assignments")
	b.Kill(t)
	b.Start(t)
	for _, p := range probes {
		p.Lost(t, 20*time.Second)
	}
	for _, p := range probes {
		if a := p.Assigned(t, 30*time.Second); !a.Reconnect {
			t.Fatalf("%s: assigned without Reconnect after the restart", p.PID.Id)
		}
	}
	check("after the reconnect")
}
