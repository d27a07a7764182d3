package actors

import (
	"reflect"
	"testing"

	"github.com/warrenmq/warren/registry"
)

// The placement rules over several connections per broker, tags and
// hidden brokers.

func TestPickBroker_Connections(t *testing.T) {
	c := registry.Consume
	brokers := []brokerSlot{
		{ID: "a:1", Zone: "local", Role: c, Up: true, Channels: 5},
		{ID: "a:1~2", Zone: "local", Role: c, Up: true, Channels: 3},
		{ID: "a:1~3", Zone: "local", Role: c, Up: true, Channels: 1, Full: true},
		{ID: "b:2", Zone: "local", Role: c, Up: true, Channels: 0},
		{ID: "0:9", Zone: "local", Role: c, Up: true, Hidden: true, Tags: []string{"rec"}},
		{ID: "t:5", Zone: "local", Role: c, Up: true, Tags: []string{"rec", "eu"}, Channels: 4},
		{ID: "t:5~2", Zone: "local", Role: c, Up: false, Tags: []string{"rec", "eu"}},
	}
	tests := []struct {
		name  string
		c     consumerSlot
		avoid string
		want  string
	}{
		{"float: the primary broker's connection with the fewest channels, never the hidden 0:9", consumerSlot{Type: fl, Zone: "local", Role: c}, "", "a:1~2"},
		{"float: a full connection is skipped however few its channels", consumerSlot{Type: fl, Zone: "local", Role: c}, "a:1~2", "a:1"},
		{"sticky by broker: any connection of it, fewest channels", consumerSlot{Type: st, Sticky: "a:1", Role: c}, "", "a:1~2"},
		{"sticky by broker: a hidden one", consumerSlot{Type: st, Sticky: "0:9", Role: c}, "", "0:9"},
		{"sticky by tag: the smallest broker carrying it, hidden included", consumerSlot{Type: st, Tag: "rec", Zone: "local", Role: c}, "", "0:9"},
		{"sticky by tag: avoid moves it to the next broker with the tag", consumerSlot{Type: st, Tag: "rec", Zone: "local", Role: c}, "0:9", "t:5"},
		{"float by tag: only brokers carrying it", consumerSlot{Type: fl, Tag: "eu", Zone: "local", Role: c}, "", "t:5"},
		{"a tag nobody carries: waits", consumerSlot{Type: fl, Tag: "us", Zone: "local", Role: c}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickBroker(tt.c, brokers, tt.avoid); got != tt.want {
				t.Fatalf("pickBroker = %q, want %q", got, tt.want)
			}
		})
	}
	// All of the primary's connections full: it still names one (the
	// consumer waits there, and says why), not another broker.
	full := []brokerSlot{
		{ID: "a:1", Zone: "local", Role: c, Up: true, Channels: 9, Full: true},
		{ID: "a:1~2", Zone: "local", Role: c, Up: true, Channels: 7, Full: true},
		{ID: "b:2", Zone: "local", Role: c, Up: true},
	}
	if got := pickBroker(consumerSlot{Type: fl, Zone: "local", Role: c}, full, ""); got != "a:1~2" {
		t.Fatalf("all full: pickBroker = %q, want a:1~2", got)
	}
}

func TestSiblingsFull(t *testing.T) {
	c := registry.Consume
	b := brokerSlot{ID: "a:1", Role: c, Up: true, Full: true}
	tests := []struct {
		name    string
		brokers []brokerSlot
		want    bool
	}{
		{"alone and full", []brokerSlot{b}, true},
		{"a sibling with room", []brokerSlot{b, {ID: "a:1~2", Role: c, Up: true}}, false},
		{"a sibling full too", []brokerSlot{b, {ID: "a:1~2", Role: c, Up: true, Full: true}}, true},
		{"a sibling down does not count", []brokerSlot{b, {ID: "a:1~2", Role: c}}, true},
		{"another broker with room does not count", []brokerSlot{b, {ID: "b:2", Role: c, Up: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := siblingsFull(tt.brokers, b); got != tt.want {
				t.Fatalf("siblingsFull = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWantOnUp_Connections(t *testing.T) {
	c := registry.Consume
	fresh := brokerSlot{ID: "a:1~2", Zone: "local", Role: c, Up: true}
	brokers := []brokerSlot{fresh, {ID: "a:1", Zone: "local", Role: c, Up: true, Full: true}, {ID: "b:2", Zone: "local", Role: c, Up: true, Full: true}}
	cs := []consumerSlot{
		{Key: "float-on-full-sibling", Type: fl, Zone: "local", Role: c, Want: "a:1"},
		{Key: "sticky-on-full-sibling", Type: st, Sticky: "a:1", Role: c, Want: "a:1"},
		{Key: "float-on-other-broker", Type: fl, Zone: "local", Role: c, Want: "b:2"},
		{Key: "holding", Type: fl, Zone: "local", Role: c, Held: "a:1"},
	}
	if got, want := wantOnUp(cs, fresh, brokers), []string{"float-on-full-sibling", "sticky-on-full-sibling"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("wantOnUp = %v, want %v", got, want)
	}
	hidden := brokerSlot{ID: "h:9", Zone: "local", Role: c, Up: true, Hidden: true, Tags: []string{"rec"}}
	waiting := []consumerSlot{{Key: "float", Type: fl, Zone: "local", Role: c}, {Key: "tagged", Type: st, Tag: "rec", Zone: "local", Role: c}}
	if got, want := wantOnUp(waiting, hidden, []brokerSlot{hidden}), []string{"tagged"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("wantOnUp of a hidden broker = %v, want %v", got, want)
	}
}

func TestDrainRefusal_Connections(t *testing.T) {
	c := registry.Consume
	brokers := []brokerSlot{
		{ID: "a:1", Zone: "local", Role: c, Up: true},
		{ID: "a:1~2", Zone: "local", Role: c, Up: true},
		{ID: "h:9", Zone: "local", Role: c, Up: true, Hidden: true},
	}
	if got := drainRefusal(brokers, []string{"a:1", "a:1~2"}); got != "local" {
		t.Fatalf("drainRefusal = %q: a broker's own connections, or a hidden broker, are nowhere for its floats to go", got)
	}
	brokers = append(brokers, brokerSlot{ID: "b:2", Zone: "local", Role: c, Up: true})
	if got := drainRefusal(brokers, []string{"a:1", "a:1~2"}); got != "" {
		t.Fatalf("drainRefusal with another broker up = %q", got)
	}
}

func TestBrokerOf(t *testing.T) {
	for in, want := range map[string]string{
		"a:1": "a:1", "a:1~2": "a:1", "a:1~publish": "a:1", "a:1@vh~12": "a:1@vh", "a:1~x": "a:1~x",
	} {
		if got := BrokerOf(in); got != want {
			t.Errorf("BrokerOf(%q) = %q, want %q", in, got, want)
		}
	}
	if NthConnID("a:1", 1) != "a:1" || NthConnID("a:1", 3) != "a:1~3" {
		t.Fatalf("NthConnID: %q %q", NthConnID("a:1", 1), NthConnID("a:1", 3))
	}
}
