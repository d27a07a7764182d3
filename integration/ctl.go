package integration

import (
	"context"
	"testing"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// DefaultCtlTimeout bounds one rabbitmqctl call (about 1 s when the node is up).
const DefaultCtlTimeout = rabbitnode.DefaultCtlTimeout

// Ctl runs rabbitmqctl -n <node> args... and returns its stdout; it fails the test on error.
//
//	out := b.Ctl(t, "list_connections", "client_properties")
func (b *Broker) Ctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := b.CtlErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// CtlErr runs rabbitmqctl -n <node> args... within DefaultCtlTimeout and returns its stdout. The
// error holds rabbitmqctl's stderr. It never runs against the system broker (rabbit@localhost).
func (b *Broker) CtlErr(args ...string) (string, error) {
	return b.node.Ctl(context.Background(), args...)
}

// Upgrade runs rabbitmq-upgrade -n <node> args... (drain, revive, await_online_quorum_plus_one,
// …), as CtlErr runs rabbitmqctl, and fails t on error.
func (b *Broker) Upgrade(t testing.TB, args ...string) string {
	t.Helper()
	out, err := b.node.Upgrade(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// QueuesErr runs rabbitmq-queues -n <node> args... (quorum_status, …) as
// CtlErr runs rabbitmqctl.
func (b *Broker) QueuesErr(args ...string) (string, error) {
	return b.node.Queues(context.Background(), args...)
}
