package integration

import (
	"context"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/bench"
)

// warren bench's federation scenario (issue 25), run briefly on a node of
// the harness (the remote zone) and a second one the bench starts with
// rabbitmq_federation (the local zone), measures both links, the plugin's
// and Warren's federated listener's: messages cross on each, the remote's kill loses none of the
// confirmed ones (durable queues, persistent messages) and each link
// delivers again after the remote comes back.
func TestFault_FederationRemoteKilledPluginAndWarrenLoseNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b := StartBroker(t)
	rep, err := bench.Run(ctx, bench.Options{URL: b.URI(), Node: b.node, Rounds: 1, ExtraRounds: -1, Duration: 300 * time.Millisecond,
		Only: []string{"federation"}, Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != 6 {
		t.Fatalf("%d rows, want 6: %+v", len(rep.Scenarios), rep.Scenarios)
	}
	for _, s := range rep.Scenarios {
		t.Logf("%s: plugin %s, Warren %s %s", s.Name, bench.Format(s.Raw), bench.Format(s.Warren), s.Unit)
	}
	p50, tput, lost, resume := rep.Scenarios[0], rep.Scenarios[2], rep.Scenarios[3], rep.Scenarios[5]
	for _, s := range []bench.Scenario{p50, tput, resume} {
		if s.Raw <= 0 || s.Warren <= 0 {
			t.Errorf("%s: plugin %v, Warren %v: want both measured", s.Name, s.Raw, s.Warren)
		}
	}
	if lost.Raw != 0 || lost.Warren != 0 {
		t.Errorf("%s: plugin %v, Warren %v: want none", lost.Name, lost.Raw, lost.Warren)
	}
}
