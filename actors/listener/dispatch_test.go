package listener

import (
	"context"
	"strings"
	"testing"
)

// names lists the targets' route names.
func names(ts []target) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.name)
	}
	return strings.Join(out, " ")
}

func TestRouteTable_Match(t *testing.T) {
	h := func(context.Context, *Delivery) error { return nil }
	rt := newRouteTable([]Route{
		{Category: "directory", Name: "reg_success", Handler: h},
		{Category: "directory", Handler: h},
		{Category: "*", Name: "reg_success", Handler: h},
		{Handler: h},
		{Category: "*", Name: "*", Handler: h},
		{Category: "directory", Name: "REG-SUCCESS", Handler: h}, // a second route of the first key
	})
	hook := []target{{name: "handle_event", h: h}}
	tests := []struct {
		name    string
		cat, ev string
		mode    DispatchMode
		extra   []target
		want    string
	}{
		{"all: every matching key, most specific first", "directory", "reg_success", DispatchAll, nil,
			"directory.reg_success directory.REG-SUCCESS *.reg_success directory.* *.* *.*"},
		{"all: case and '_'/'-' aside", "Directory", "REG-SUCCESS", DispatchAll, nil,
			"directory.reg_success directory.REG-SUCCESS *.reg_success directory.* *.* *.*"},
		{"all: name-only wildcard matches any category", "presence", "reg_success", DispatchAll, nil, "*.reg_success *.* *.*"},
		{"all: category wildcard", "directory", "reg_flush", DispatchAll, nil, "directory.* *.* *.*"},
		{"all: the hook runs alongside", "presence", "update", DispatchAll, hook, "*.* *.* handle_event"},
		{"one: exact first, the first added", "directory", "reg_success", DispatchOne, nil, "directory.reg_success"},
		{"one: name before category", "presence", "reg-success", DispatchOne, nil, "*.reg_success"},
		{"one: category", "directory", "reg_flush", DispatchOne, nil, "directory.*"},
		{"one: catch-all, with the hook", "presence", "update", DispatchOne, hook, "*.* handle_event"},
		{"an event's own '*' is no wildcard", "*", "x", DispatchOne, nil, "*.*"},
	}
	tc := &tokens{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(rt.match(tc, tt.cat, tt.ev, tt.mode, tt.extra)); got != tt.want {
				t.Errorf("match(%s, %s) = %q, want %q", tt.cat, tt.ev, got, tt.want)
			}
		})
	}
	only := newRouteTable([]Route{{Category: "a", Handler: h}})
	if ts := only.match(tc, "b", "c", DispatchAll, nil); len(ts) != 0 {
		t.Errorf("an unmatched event found %q without a catch-all", names(ts))
	}
	if ts := only.match(tc, "b", "c", DispatchAll, hook); names(ts) != "handle_event" {
		t.Errorf("an unmatched event with the hook = %q, want the hook alone", names(ts))
	}
}

func TestRouteTable_AddAndRemove(t *testing.T) {
	h := func(context.Context, *Delivery) error { return nil }
	tc := &tokens{}
	rt := newRouteTable([]Route{{Category: "call", Name: "hangup", Handler: h}})
	added := rt.with(Route{Category: "*", Name: "HANGUP", Handler: h})
	if got := names(added.match(tc, "call", "hangup", DispatchAll, nil)); got != "call.hangup *.HANGUP" {
		t.Fatalf("after add: %q", got)
	}
	if got := names(rt.match(tc, "call", "hangup", DispatchAll, nil)); got != "call.hangup" {
		t.Fatalf("adding changed the old table: %q", got)
	}
	removed, ok := added.without("Call", "HangUp")
	if !ok || names(removed.match(tc, "call", "hangup", DispatchAll, nil)) != "*.HANGUP" {
		t.Fatalf("after remove (%v): %q", ok, names(removed.match(tc, "call", "hangup", DispatchAll, nil)))
	}
	if _, ok := removed.without("call", "hangup"); ok {
		t.Fatal("removed a route twice")
	}
	if _, ok := removed.without("", "hangup"); !ok { // "" is the wildcard, as "*"
		t.Fatal("the name-only route was not found by an empty category")
	}
}

func TestSpec_Normalize(t *testing.T) {
	h := func(context.Context, *Delivery) error { return nil }
	tests := []struct {
		name    string
		given   Spec
		wantErr string
	}{
		{"needs a name", Spec{Raw: h}, "name"},
		{"name without slash", Spec{Name: "a/b", Raw: h}, "name"},
		{"needs a handler", Spec{Name: "l"}, "no handler"},
		{"sticky needs a broker", Spec{Name: "l", Raw: h, Channel: "sticky"}, "broker"},
		{"binding needs an exchange", Spec{Name: "l", Raw: h, Bindings: []Binding{{RoutingKey: "k"}}}, "exchange is required"},
		{"declared exchange needs a kind", Spec{Name: "l", Raw: h, Bindings: []Binding{{Exchange: "x", Declare: true}}}, "kind"},
		{"route without handler", Spec{Name: "l", Handlers: []Route{{Category: "c"}}}, "no handler"},
		{"prefetch above AMQP's limit", Spec{Name: "l", Raw: h, Prefetch: 70000}, "at most 65535"},
		{"valid", Spec{Name: "l", Handlers: []Route{{Handler: h}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.given.normalize()
			if tt.wantErr == "" {
				if err != nil || s.Prefetch != DefaultPrefetch || s.Workers != DefaultWorkers || s.Consume.Tag != "warren.l" || s.EventKey != DefaultEventKey {
					t.Fatalf("normalize = %+v, %v", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkRouteTable_Match measures route lookup per delivery: one route
// matching (no copy) and four levels matching (one slice built).
func BenchmarkRouteTable_Match(b *testing.B) {
	h := func(context.Context, *Delivery) error { return nil }
	rt := newRouteTable([]Route{
		{Category: "call_event", Name: "CHANNEL_DESTROY", Handler: h},
		{Category: "*", Name: "channel_destroy", Handler: h},
		{Category: "call_event", Handler: h},
		{Handler: h},
		{Category: "directory", Name: "reg_success", Handler: h},
	})
	tc := &tokens{}
	b.Run("two levels", func(b *testing.B) {
		for b.Loop() {
			if len(rt.match(tc, "directory", "reg_success", DispatchAll, nil)) != 2 { // exact and catch-all
				b.Fatal("no match")
			}
		}
	})
	one := newRouteTable([]Route{{Category: "directory", Name: "reg_success", Handler: h}})
	b.Run("single route", func(b *testing.B) {
		for b.Loop() {
			if len(one.match(tc, "directory", "reg_success", DispatchAll, nil)) != 1 {
				b.Fatal("no match")
			}
		}
	})
	b.Run("four levels", func(b *testing.B) {
		for b.Loop() {
			if len(rt.match(tc, "call_event", "CHANNEL_DESTROY", DispatchAll, nil)) != 4 {
				b.Fatal("no match")
			}
		}
	})
	b.Run("dispatch one", func(b *testing.B) {
		for b.Loop() {
			if len(rt.match(tc, "call_event", "CHANNEL_DESTROY", DispatchOne, nil)) != 1 {
				b.Fatal("no match")
			}
		}
	})
}
