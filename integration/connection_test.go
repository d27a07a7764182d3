package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Warren started before its broker keeps dialling with backoff and becomes
// ready once the broker appears.
func TestConnection_ConnectsOnceBrokerAppears(t *testing.T) {
	b := StartBroker(t, WithStartDeferred())
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	tree, _ := treetest.Start(t, cfg)
	id := brokerID(t, b)
	row := waitConn(t, tree, id, 10*time.Second, "two failed dials", func(c registry.Connection) bool { return c.Attempts >= 2 })
	if row.Available || row.LastError == "" {
		t.Fatalf("row before the broker exists = %+v", row)
	}
	if tree.Ready() {
		t.Fatal("ready without a broker")
	}
	b.Start(t)
	waitReady(t, tree, 15*time.Second)
}

// A killed broker is redialled with backoff: attempts stay bounded by the
// backoff floor while it is down, and the connection comes back when it
// restarts.
func TestFault_ConnectionRedialsWithBackoffAfterKill(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	first := 200 * time.Millisecond
	cfg.Connection.Backoff = actors.Backoff{First: first, Max: 800 * time.Millisecond}
	tree, logs := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)

	killed := time.Now()
	b.Kill(t)
	waitConn(t, tree, id, 10*time.Second, "disconnected", func(c registry.Connection) bool { return !c.Available })
	row := waitConn(t, tree, id, 20*time.Second, "four failed dials", func(c registry.Connection) bool { return c.Attempts >= 4 })
	down := time.Since(killed)
	// Each delay is at least first/2: more attempts than that allows is a tight loop.
	if limit := int(down/(first/2)) + 1; row.Attempts > limit {
		t.Fatalf("%d dial attempts in %v: more than the backoff allows (%d)", row.Attempts, down, limit)
	}
	if !strings.Contains(logs.String(), "dial failed") {
		t.Error("no dial failure logged")
	}
	b.Start(t)
	reopened := time.Now()
	waitConn(t, tree, id, 10*time.Second, "connected again", func(c registry.Connection) bool { return c.State == registry.Connected })
	t.Logf("killed broker: %d attempts in %v down; connected %v after the broker accepted connections again", row.Attempts, down.Round(time.Millisecond), time.Since(reopened).Round(time.Millisecond))
}

// A frozen broker (SIGSTOP: the port stays open, nothing answers) is
// detected by the heartbeat within three heartbeat intervals.
func TestFault_ConnectionFrozenBrokerDetectedByHeartbeat(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Heartbeat = time.Second
	cfg.Connection.ConnectionTimeout = time.Second
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	if row, _ := tree.Registry().Connection(id); row.Heartbeat != time.Second {
		t.Fatalf("negotiated heartbeat = %v", row.Heartbeat)
	}
	frozen := time.Now()
	b.Freeze(t)
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			b.Thaw(t)
		}
	})
	waitConn(t, tree, id, 3*time.Second+500*time.Millisecond, "disconnected within 3 heartbeats", func(c registry.Connection) bool { return !c.Available })
	t.Logf("frozen broker detected after %v (heartbeat 1s)", time.Since(frozen).Round(time.Millisecond))
	b.Thaw(t)
	thawed = true
	waitConn(t, tree, id, 15*time.Second, "connected after thaw", func(c registry.Connection) bool { return c.State == registry.Connected })
}

// A wrong password is a permanent error: state failed, a clear reason, and
// the password nowhere — not in the row, the tree, nor the logs.
func TestConnection_WrongPasswordFailsWithoutLeakingIt(t *testing.T) {
	b := StartBroker(t)
	const secret = "Wr0ngPassw0rd"
	cfg := oneZone(b.URIWith("guest", secret))
	cfg.Connection.Backoff = actors.Backoff{First: 100 * time.Millisecond, Max: 2 * time.Second}
	tree, logs := treetest.Start(t, cfg)
	id := brokerID(t, b)
	row := waitConn(t, tree, id, 15*time.Second, "failed", func(c registry.Connection) bool { return c.State == registry.Failed })
	if !strings.Contains(row.LastError, "ACCESS_REFUSED") && !strings.Contains(row.LastError, "username or password") {
		t.Errorf("last error %q does not name the refusal", row.LastError)
	}
	// Permanent errors retry within the upper half of the maximum delay
	// (1s–2s here, jittered so refused nodes do not redial in lockstep),
	// not after the first delay (100ms).
	next := waitConn(t, tree, id, 10*time.Second, "the next attempt", func(c registry.Connection) bool { return c.Attempts > row.Attempts })
	if gap := next.Since.Sub(row.Since); gap < 950*time.Millisecond {
		t.Errorf("next attempt after a permanent error came %v later: not at the maximum delay", gap)
	}
	rows, _ := json.Marshal(tree.Registry().Connections())
	snap, _ := json.Marshal(tree.Snapshot())
	for what, out := range map[string]string{"connections": string(rows), "tree": string(snap), "logs": logs.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("the password appears in the %s", what)
		}
	}
	if !strings.Contains(logs.String(), "guest:xxxxx@") {
		t.Error("logs do not name the broker by its redacted URI")
	}
}

// TLS with certificates generated by the test.
func TestConnection_TLS(t *testing.T) {
	certs := GenerateTLS(t)
	b := StartBroker(t, WithTLS(certs))
	cfg := oneZone(b.TLSURI())
	cfg.Connection.CACertFile = certs.CACert
	cfg.Connection.CertFile = certs.ClientCert
	cfg.Connection.KeyFile = certs.ClientKey
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	// Two: the consuming connection and the publishers' one.
	if n := ctlCount(t, b, "true", "list_connections", "ssl"); n != 2 {
		t.Errorf("broker lists %d TLS connections, want 2", n)
	}
}

// A client certificate the broker trusts but a CA the client does not:
// verification fails, which retrying cannot fix.
func TestConnection_TLSUntrustedServerFails(t *testing.T) {
	certs := GenerateTLS(t)
	other := GenerateTLS(t)
	b := StartBroker(t, WithTLS(certs))
	cfg := oneZone(b.TLSURI())
	cfg.Connection.CACertFile = other.CACert
	tree, _ := treetest.Start(t, cfg)
	id, _ := actors.BrokerID(b.TLSURI())
	row := waitConn(t, tree, id, 15*time.Second, "failed", func(c registry.Connection) bool { return c.State == registry.Failed })
	if !strings.Contains(row.LastError, "certificate") {
		t.Errorf("last error %q does not name the certificate", row.LastError)
	}
}

// connection.blocked (a memory alarm) moves the connection to blocked and
// back to connected when the alarm clears.
func TestConnection_BlockedAndUnblocked(t *testing.T) {
	b := StartBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	p := treetest.SpawnProbe(t, tree, "blocked-probe", actors.RequestChannel{App: "test"})
	a := p.Assigned(t, 5*time.Second)
	b.Ctl(t, "set_vm_memory_high_watermark", "0")
	t.Cleanup(func() { _, _ = b.CtlErr("set_vm_memory_high_watermark", "0.4") })
	// RabbitMQ blocks a connection when it publishes during the alarm.
	if err := a.Channel.Publish("", "nowhere", false, false, amqpPublishing("x")); err != nil {
		t.Fatal(err)
	}
	waitConn(t, tree, id, 10*time.Second, "blocked", func(c registry.Connection) bool { return c.State == registry.Blocked })
	b.Ctl(t, "set_vm_memory_high_watermark", "0.4")
	row := waitConn(t, tree, id, 10*time.Second, "unblocked", func(c registry.Connection) bool { return c.State == registry.Connected })
	if !row.Available {
		t.Fatalf("row after unblock = %+v", row)
	}
}

// A connection waiting out a long backoff (5 s) probes its broker's port
// between dials: it is connected again within a second of the port
// reopening, not when the backoff ends.
func TestFault_ConnectionBackWithinASecondOfThePortReopening(t *testing.T) {
	b := StartBroker(t)
	cfg := bare(oneZone(b.URI()))
	cfg.Connection.Backoff = actors.Backoff{First: 5 * time.Second, Max: 5 * time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	b.Kill(t)
	waitConn(t, tree, id, 20*time.Second, "down", func(c registry.Connection) bool { return !c.Available })
	// Let the first redial fail, so that the next waits its 2.5-5 s backoff.
	waitConn(t, tree, id, 20*time.Second, "a redial failed", func(c registry.Connection) bool { return c.Attempts >= 1 && !c.NextDial.IsZero() })
	b.Start(t) // returns once the node answers AMQP: its port opened before
	up := time.Now()
	row := waitConn(t, tree, id, 10*time.Second, "connected", func(c registry.Connection) bool { return c.State == registry.Connected })
	if took := time.Since(up); took > time.Second {
		t.Fatalf("connected %v after the node was up (next dial was due at %v)", took, row.NextDial)
	}
}
