package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// warren call --all-zones: each reply says the zone it came from, in
// AMQP-Broker-Zone, the local zone's first. The responders are `warren
// listen --reply`, one on each zone's broker.
func TestCall_AllZonesRepliesSayTheirZone(t *testing.T) {
	east := treetest.NullBroker(t, nullbroker.Config{})
	west := treetest.NullBroker(t, nullbroker.Config{})
	for _, nb := range []*nullbroker.Server{east, west} {
		startListen(t, "--url", nb.URL(), "--exchange", "callmgr", "--key", "authn.req.*", "--reply", authnResp)
	}
	ini := writeConfig(t, "[zone]\nname = east\namqp_uri = "+east.URL()+"\n[zone]\nname = west\namqp_uri = "+west.URL()+"\n[warren]\nzone = east\n")
	code, stdout, stderr := runBuilt(t, "call", "--config", ini, "--wait", "10s", "--all-zones", "--collect", "1", "--timeout", "5s",
		"--exchange", "callmgr", "--key", "authn.req.example", `{"Event-Category":"directory","Event-Name":"authn_req","Auth-User":"bob"}`)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var zones []string
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil || r["Auth-Password"] != "pw-7" {
			t.Fatalf("reply %q (%v): want the responder's authn_resp", l, err)
		}
		zone, _ := r["AMQP-Broker-Zone"].(string)
		zones = append(zones, zone)
	}
	if strings.Join(zones, " ") != "east west" {
		t.Fatalf("the replies' zones: %q, want east then west\n%s", zones, stdout)
	}
}
