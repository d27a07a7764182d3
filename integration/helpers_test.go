package integration

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/supervisor"
)

// oneZone is a config with the given brokers in zone "local".
func oneZone(uris ...string) supervisor.Config {
	return supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: uris}}}
}

// bare drops the pools that hold channels of their own (RPC workers,
// publishers), for tests that count channels on the broker.
func bare(cfg supervisor.Config) supervisor.Config {
	cfg.RPC.Workers = -1
	cfg.Publish.Publishers = -1
	return cfg
}

// within is testkit.Within: a context that ends after d or with the test.
var within = testkit.Within

// waitReady is treetest.WaitReady.
var waitReady = treetest.WaitReady

// waitConn is treetest.WaitConnection: it waits until the row of broker
// satisfies cond and returns it.
var waitConn = treetest.WaitConnection

func brokerID(t testing.TB, b *Broker) string {
	t.Helper()
	id, err := actors.BrokerID(b.URI())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ctlCount counts the lines of a rabbitmqctl listing that contain substr.
func ctlCount(t testing.TB, b *Broker, substr string, args ...string) int {
	t.Helper()
	out := b.Ctl(t, append(args, "--quiet", "--no-table-headers")...)
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) != "" && strings.Contains(line, substr) {
			n++
		}
	}
	return n
}
