package rpc

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/registry"
)

func TestPin_ChannelRequest(t *testing.T) {
	pid := actor.NewPID("nonhost", "warren/billing/billing-1")
	for _, tt := range []struct {
		name    string
		given   Pin
		typ     registry.ChannelType
		canMove bool
	}{
		{"a zone's workers take floats", Pin{Zone: "east"}, "", true},
		{"workers on a broker take stickies there", Pin{Zone: "east", Broker: "b:5672"}, registry.Sticky, false},
		{"workers on a tag take stickies on a tagged broker", Pin{Zone: "east", Tag: "billing"}, registry.Sticky, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.given.channelRequest(pid)
			if got.Consumer != pid || got.Zone != "east" || got.Role != registry.Publish || got.Type != tt.typ ||
				got.Broker != tt.given.Broker || got.Tag != tt.given.Tag || got.CanMove != tt.canMove {
				t.Fatalf("channelRequest = %+v", got)
			}
		})
	}
}
