package main

import (
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
)

// Asked for a listener by name on a node that runs none, warren
// listeners says so plainly (it used to print "(there are: )").
func TestListeners_ANameOnANodeWithoutListenersSaysThereAreNone(t *testing.T) {
	admin := fakeAdmin(t, map[string]string{"/listeners": `[]`})
	code, stdout, stderr := runBuilt(t, "listeners", "nope", "--admin", admin)
	if code != exitError || stderr != "warren: no listener \"nope\": there are no listeners\n" || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 saying there are no listeners", code, stdout, stderr)
	}
}

// warren connections ID prints that connection's details, one field a
// line, with what the table has no room for (the negotiated channel_max
// and heartbeat, the broker's product), not the one-row table.
func TestConnections_AnIDPrintsItsDetails(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	r := startRun(t, nil, "--url", nb.URL())
	treetest.WaitConnection(t, r.tree, nb.Addr(), 10*time.Second, "the consuming connection up",
		func(c registry.Connection) bool { return c.State == registry.Connected })
	code, stdout, stderr := runBuilt(t, "connections", nb.Addr(), "--admin", r.addr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "LAST_ERROR") {
		t.Errorf("the table, not the details:\n%s", stdout)
	}
	for _, want := range []string{"ID:", " " + nb.Addr() + "\n", "Role:", " consume\n", "Zone:", " local (local)\n", "State:", " connected\n",
		"URI:", "amqp://guest:xxxxx@" + nb.Addr() + "/", "Channel max:", "Heartbeat:", "Broker product:", "Since:", "Exchange errors:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("details lack %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := runBuilt(t, "connections", "10.9.9.9:5672", "--admin", r.addr); code != exitError ||
		!strings.Contains(stderr, `no connection "10.9.9.9:5672" (there are: `+nb.Addr()) {
		t.Errorf("an unknown ID: exit %d, %s", code, stderr)
	}
}
