package integration

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dial opens an AMQP connection named name, closed at the end of the test.
func dial(t *testing.T, uri, name string, heartbeat time.Duration) *amqp.Connection {
	t.Helper()
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	conn, err := amqp.DialConfig(uri, amqp.Config{
		Heartbeat:  heartbeat,
		Properties: props,
		Dial:       amqp.DefaultDial(5 * time.Second),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func declareQueue(t *testing.T, conn *amqp.Connection, name string, durable bool) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	defer ch.Close()
	if _, err := ch.QueueDeclare(name, durable, false, false, false, nil); err != nil {
		t.Fatalf("declare queue %s: %v", name, err)
	}
}

// queueExists reports whether a passive declare of name succeeds.
func queueExists(t *testing.T, conn *amqp.Connection, name string) bool {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	defer ch.Close()
	_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
	var aerr *amqp.Error
	if errors.As(err, &aerr) && aerr.Code == amqp.NotFound {
		return false
	}
	if err != nil {
		t.Fatalf("passive declare %s: %v", name, err)
	}
	return true
}

// processesMentioning returns live processes whose command line or environment holds s.
func processesMentioning(s string) []int {
	var out []int
	for _, p := range listProcs() {
		if p.state == 'Z' {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			raw, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/" + f)
			if strings.Contains(string(raw), s) {
				out = append(out, p.pid)
				break
			}
		}
	}
	return out
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func TestBroker(t *testing.T) {
	t.Parallel()
	b := StartBroker(t)

	t.Run("has its own name, ports and directory", func(t *testing.T) {
		if !strings.HasPrefix(b.Name, "warren-it-") || !strings.HasSuffix(b.Name, "@localhost") {
			t.Errorf("Name = %q, want warren-it-…@localhost", b.Name)
		}
		for _, p := range []int{b.Port, b.DistPort} {
			if reservedPort(p) {
				t.Errorf("port %d is reserved for the system broker", p)
			}
		}
		if b.TLSPort != 0 {
			t.Errorf("TLSPort = %d without WithTLS, want 0", b.TLSPort)
		}
		if want := "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(b.Port) + "/"; b.URI() != want {
			t.Errorf("URI() = %q, want %q", b.URI(), want)
		}
		if _, err := os.Stat(filepath.Join(b.Dir, "mnesia", b.Name)); err != nil {
			t.Errorf("data directory: %v", err)
		}
	})

	t.Run("accepts AMQP as guest", func(t *testing.T) {
		conn := dial(t, b.URI(), "harness-guest", 0)
		declareQueue(t, conn, "harness.accepts", false)
	})

	t.Run("lists a connection we opened in rabbitmqctl", func(t *testing.T) {
		conn := dial(t, b.URI(), "harness-probe", 0)
		port := strconv.Itoa(conn.LocalAddr().(*net.TCPAddr).Port)
		out := b.Ctl(t, "list_connections", "peer_port", "client_properties")
		if !strings.Contains(out, "harness-probe") || !strings.Contains(out, port) {
			t.Fatalf("list_connections lacks harness-probe from port %s:\n%s", port, out)
		}
	})

	t.Run("freezing silences heartbeats and thawing brings it back", func(t *testing.T) {
		conn := dial(t, b.URI(), "harness-heartbeat", time.Second)
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		// amqp091 clears the read deadline after connection.open-ok and sets it again only when
		// the next frame arrives: a broker silent from the handshake on is never noticed. One
		// round trip arms the deadline.
		ch, err := conn.Channel()
		if err != nil {
			t.Fatalf("open channel: %v", err)
		}
		_ = ch.Close()
		b.Freeze(t)
		frozen := time.Now()
		select {
		case err := <-closed:
			t.Logf("heartbeat 1s: connection error %v after %v", err, time.Since(frozen).Round(time.Millisecond))
			if err == nil {
				t.Fatal("connection closed without an error")
			}
		case <-time.After(5 * time.Second):
			b.Thaw(t)
			t.Fatal("no connection error within 5s of Freeze with heartbeat 1s")
		}
		if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err != nil {
			t.Errorf("port closed while frozen: %v", err)
		} else {
			c.Close()
		}
		b.Thaw(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		thawed := time.Now()
		if err := b.WaitReady(ctx); err != nil {
			t.Fatalf("not ready after Thaw: %v", err)
		}
		t.Logf("ready %v after Thaw", time.Since(thawed).Round(time.Millisecond))
	})

	t.Run("stops gracefully and restarts with its data", func(t *testing.T) {
		declareQueue(t, dial(t, b.URI(), "harness-before-stop", 0), "harness.stop.durable", true)
		stopping := time.Now()
		b.Stop(t)
		t.Logf("graceful stop took %v", time.Since(stopping).Round(time.Millisecond))
		if !refused(b.Addr()) || b.Running() {
			t.Fatalf("after Stop: port %s still open or node running", b.Addr())
		}
		b.Start(t)
		if !queueExists(t, dial(t, b.URI(), "harness-after-stop", 0), "harness.stop.durable") {
			t.Fatal("durable queue lost across Stop and Start")
		}
	})
}

func TestBroker_KillThenStartKeepsPortAndData(t *testing.T) {
	t.Parallel()
	b := StartBroker(t)
	port, beam := b.Port, b.BeamPID()
	declareQueue(t, dial(t, b.URI(), "harness-before-kill", 0), "harness.kill.durable", true)
	b.SyncMetadata(t) // else kill -9 loses the declaration if it is younger than ~2s

	killing := time.Now()
	b.Kill(t)
	killed := time.Now()
	t.Logf("kill -9 until port closed: %v", killed.Sub(killing).Round(time.Millisecond))
	if !refused(b.Addr()) {
		t.Fatalf("port %s still open after Kill", b.Addr())
	}
	if alive(beam) {
		t.Fatalf("beam.smp %d alive after Kill", beam)
	}
	if pids := processesMentioning(b.Name); len(pids) > 0 {
		t.Fatalf("processes of %s left after Kill: %v", b.Name, pids)
	}

	b.Start(t)
	t.Logf("kill -9 to ready again: %v", time.Since(killed).Round(time.Millisecond))
	if b.Port != port {
		t.Fatalf("port changed from %d to %d", port, b.Port)
	}
	if !queueExists(t, dial(t, b.URI(), "harness-after-kill", 0), "harness.kill.durable") {
		t.Fatal("durable queue lost across Kill and Start")
	}
}

func TestBroker_WithTLSAcceptsClientsTrustingGeneratedCA(t *testing.T) {
	t.Parallel()
	certs := GenerateTLS(t)
	b := StartBroker(t, WithTLS(certs))
	if b.TLSPort == 0 || b.TLSPort == b.Port {
		t.Fatalf("TLSPort = %d (Port %d)", b.TLSPort, b.Port)
	}
	conn, err := amqp.DialTLS(b.TLSURI(), certs.ClientTLSConfig())
	if err != nil {
		t.Fatalf("DialTLS %s: %v", b.TLSURI(), err)
	}
	defer conn.Close()
	state := conn.ConnectionState()
	if !state.HandshakeComplete || len(state.PeerCertificates) == 0 {
		t.Fatalf("TLS state: handshake %v, %d peer certificates", state.HandshakeComplete, len(state.PeerCertificates))
	}
	if cn := state.PeerCertificates[0].Subject.CommonName; cn != "localhost" {
		t.Errorf("server certificate CN = %q, want localhost", cn)
	}

	t.Run("and rejects clients that do not trust it", func(t *testing.T) {
		cfg := certs.ClientTLSConfig()
		cfg.RootCAs = nil // system roots
		if conn, err := amqp.DialTLS(b.TLSURI(), cfg); err == nil {
			conn.Close()
			t.Fatal("DialTLS without the test CA succeeded")
		}
	})
}

func TestBroker_TwoNodesRunSideBySide(t *testing.T) {
	t.Parallel()
	a, b := StartBroker(t), StartBroker(t)
	if a.Name == b.Name || a.Port == b.Port || a.DistPort == b.DistPort || a.Dir == b.Dir {
		t.Fatalf("nodes share name, port or directory: %+v / %+v", a, b)
	}
	declareQueue(t, dial(t, a.URI(), "harness-a", 0), "harness.only.on.a", false)
	if queueExists(t, dial(t, b.URI(), "harness-b", 0), "harness.only.on.a") {
		t.Fatal("queue declared on a exists on b")
	}
	if out := b.Ctl(t, "eval", "node()."); !strings.Contains(out, b.Name) {
		t.Fatalf("rabbitmqctl -n %s reached %q", b.Name, out)
	}
}

func TestBroker_WithStartDeferredRefusesUntilStartThenProvisions(t *testing.T) {
	t.Parallel()
	b := StartBroker(t, WithStartDeferred(), WithUser("kazoo", "s3cr:t/@"), WithVHost("kz"))
	if b.Running() || !refused(b.Addr()) {
		t.Fatalf("deferred broker listens on %s before Start", b.Addr())
	}
	b.Start(t)
	dial(t, b.URIWith("kazoo", "s3cr:t/@"), "harness-user", 0)
	dial(t, b.VHostURI("kz"), "harness-vhost", 0)
	conn, err := amqp.Dial(b.URIWith("kazoo", "wrong"))
	if err == nil {
		conn.Close()
		t.Fatal("dial with a wrong password succeeded")
	}
}

func TestBroker_WithConfigReachesTheNode(t *testing.T) {
	t.Parallel()
	b := StartBroker(t, WithConfig("heartbeat = 7"))
	conn := dial(t, b.URI(), "harness-config", 30*time.Second)
	if conn.Config.Heartbeat != 7*time.Second {
		t.Fatalf("negotiated heartbeat %v, want the node's 7s", conn.Config.Heartbeat)
	}
}

func TestBroker_WithPluginsEnablesThem(t *testing.T) {
	t.Parallel()
	b := StartBroker(t, WithPlugins("rabbitmq_consistent_hash_exchange"))
	ch, err := dial(t, b.URI(), "harness-plugins", 0).Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare("harness.hash", "x-consistent-hash", false, true, false, false, nil); err != nil {
		t.Fatalf("declare x-consistent-hash exchange: %v", err)
	}
}

func TestStartBroker_RetriesOnNewPortsWhenAPortIsTaken(t *testing.T) {
	t.Parallel()
	squatter, err := net.Listen("tcp", "127.0.0.1:0") // outside freePort's range: never handed out
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	taken := squatter.Addr().(*net.TCPAddr).Port
	first := true
	pick := func(o *brokerOptions) error {
		o.pickPort = func() (int, error) {
			if first {
				first = false
				return taken, nil
			}
			return freePort()
		}
		return nil
	}
	b := StartBroker(t, pick)
	if b.Port == taken {
		t.Fatalf("node kept the taken port %d", taken)
	}
	dial(t, b.URI(), "harness-after-clash", 0)
}

func TestBrokerOptions_RejectBadValues(t *testing.T) {
	tests := []struct {
		name string
		opt  BrokerOption
	}{
		{"nil TLS files", WithTLS(nil)},
		{"guest as extra user", WithUser("guest", "x")},
		{"empty user", WithUser("", "x")},
		{"default vhost", WithVHost("/")},
		{"multi-line config", WithConfig("a = 1\nb = 2")},
		{"plugin list syntax", WithPlugins("a,b")},
		{"zero boot timeout", WithBootTimeout(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultBrokerOptions()
			if err := tt.opt(&o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestFreePort_NeverRepeatsOrPicksReservedPorts(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || reservedPort(p) {
			t.Fatalf("freePort() = %d: repeated or reserved", p)
		}
		seen[p] = true
	}
}
