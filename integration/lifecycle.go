package integration

import (
	"context"
	"testing"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// DefaultStopTimeout bounds a graceful Stop; a node still running then is killed.
const DefaultStopTimeout = rabbitnode.DefaultStopTimeout

// Stop stops the node gracefully (SIGTERM to beam.smp, as rabbitmqctl stop would) and waits until
// its processes exited and its ports are closed. A node not stopped within DefaultStopTimeout is
// killed and the test fails. Stopping a stopped node does nothing.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if err := b.node.Stop(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, b.LogTail(30))
	}
}

// StopWithCtl stops the node the way an operator does, with rabbitmqctl -n <node> stop, and
// waits until its processes exited and its ports are closed. On a cluster node this is the
// graceful stop of a rolling restart: the node closes its client connections (320
// CONNECTION_FORCED) and leaves the cluster's running set; Start brings it back on the same
// ports and data directory, and it rejoins. A node not stopped within DefaultStopTimeout is
// killed and the test fails. Stopping a stopped node does nothing.
func (b *Broker) StopWithCtl(t testing.TB) {
	t.Helper()
	if err := b.node.StopWithCtl(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, b.LogTail(30))
	}
}

// Kill kills the node with SIGKILL (process group, beam.smp and its helper processes) and waits
// until they are gone and its ports are closed. Killing a stopped node does nothing.
//
// Like a real crash, Kill loses what the node had not written yet: Mnesia buffers its log, so
// a queue, exchange, binding or user declared up to about 2 s before Kill may be gone after
// Start. Call SyncMetadata first to keep them (or Stop, which is graceful).
func (b *Broker) Kill(t testing.TB) {
	t.Helper()
	if err := b.node.Kill(); err != nil {
		t.Fatal(err)
	}
}

// SyncMetadata makes the node write its metadata log (Mnesia: queues, exchanges, bindings,
// users, vhosts) to disk, so that a following Kill loses none of it.
func (b *Broker) SyncMetadata(t testing.TB) {
	t.Helper()
	if err := b.node.SyncMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Freeze stops beam.smp with SIGSTOP: its ports stay open and accept TCP connections, but the
// broker answers nothing, heartbeats included, until Thaw.
//
// amqp091-go clears its read deadline after connection.open-ok and arms it again only when the
// next frame arrives, so a connection frozen right after its handshake never times out. Make one
// round trip (open a channel) on a connection before freezing its broker.
func (b *Broker) Freeze(t testing.TB) {
	t.Helper()
	if err := b.node.Freeze(); err != nil {
		t.Fatal(err)
	}
}

// Thaw resumes a frozen beam.smp with SIGCONT.
func (b *Broker) Thaw(t testing.TB) {
	t.Helper()
	if err := b.node.Thaw(); err != nil {
		t.Fatal(err)
	}
}

// Running reports whether the node's process is alive (it may still be booting, or frozen).
func (b *Broker) Running() bool { return b.node.Running() }

// BeamPID returns the pid of the node's beam.smp, 0 if the node is not running.
func (b *Broker) BeamPID() int { return b.node.BeamPID() }

// WaitPortOpen waits until the node's AMQP port accepts TCP connections or ctx is done.
func (b *Broker) WaitPortOpen(ctx context.Context) error { return b.node.WaitPortOpen(ctx) }

// WaitPortClosed waits until the node's AMQP port refuses connections or ctx is done.
func (b *Broker) WaitPortClosed(ctx context.Context) error { return b.node.WaitPortClosed(ctx) }

// WaitReady waits until an AMQP handshake as guest succeeds on the node's AMQP port (and its AMQPS
// port, with WithTLS), until the node's process exits, or until ctx is done.
func (b *Broker) WaitReady(ctx context.Context) error { return b.node.WaitReady(ctx) }
