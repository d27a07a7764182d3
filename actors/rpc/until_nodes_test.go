package rpc

import (
	"testing"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

func TestAppNodes(t *testing.T) {
	nodes := []registry.Node{
		{Name: "a@1", Zone: "east", Apps: []string{"callflow", "ecallmgr"}},
		{Name: "a@2", Zone: "east", Apps: []string{"callflow"}},
		{Name: "b@1", Zone: "west", Apps: []string{"callflow"}},
		{Name: "c@1", Zone: "south", Apps: []string{"crossbar"}},
	}
	tests := []struct {
		name  string
		app   string
		scope NodeScope
		want  int
	}{
		{"the local zone's nodes", "callflow", NodeScope{Zone: "east"}, 2},
		{"every zone's nodes", "callflow", NodeScope{Zone: "east", AllZones: true}, 3},
		{"shared: one per zone running it", "callflow", NodeScope{Zone: "east", AllZones: true, Shared: true}, 2},
		{"shared in the local zone: one", "callflow", NodeScope{Zone: "east", Shared: true}, 1},
		{"shared, the local zone not running it: none", "crossbar", NodeScope{Zone: "east", Shared: true}, 0},
		{"an app nobody runs", "nobody", NodeScope{Zone: "east", AllZones: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppNodes(nodes, tt.app, tt.scope); got != tt.want {
				t.Fatalf("AppNodes(%s, %+v) = %d, want %d", tt.app, tt.scope, got, tt.want)
			}
			until := UntilNodes(nodes, tt.app, tt.scope)
			replies := make([]kazoo.Envelope, tt.want)
			if !until(replies) || tt.want > 0 && until(replies[1:]) {
				t.Fatalf("UntilNodes does not hold at exactly %d replies", tt.want)
			}
		})
	}
}
