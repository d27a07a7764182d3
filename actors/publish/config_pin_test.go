package publish

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/registry"
)

// A pool pinned to a broker or a tag asks for stickies there, one of a
// zone for floats that may move off a drained broker.
func TestConfig_ChannelRequestPinsThePool(t *testing.T) {
	pid := actor.NewPID("nonhost", "warren/audit/audit-1")
	for _, tt := range []struct {
		name    string
		given   Config
		typ     registry.ChannelType
		broker  string
		tag     string
		canMove bool
	}{
		{"a zone's pool takes floats", Config{}, "", "", "", true},
		{"a pool on a broker takes stickies there", Config{Broker: "b:5672"}, registry.Sticky, "b:5672", "", false},
		{"a pool on a tag takes stickies on a tagged broker", Config{Tag: "billing"}, registry.Sticky, "", "billing", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.given.channelRequest(pid, "east")
			if got.Consumer != pid || got.Zone != "east" || got.Role != registry.Publish || got.Type != tt.typ ||
				got.Broker != tt.broker || got.Tag != tt.tag || got.CanMove != tt.canMove {
				t.Fatalf("channelRequest = %+v", got)
			}
		})
	}
}
