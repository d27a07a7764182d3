package listener

import (
	"context"
	"strings"
	"testing"
)

func TestRoutes_PickMostSpecificFirst(t *testing.T) {
	mk := func(tag string, got *string) Handler {
		return func(context.Context, *Delivery) error { *got = tag; return nil }
	}
	var got string
	rs := newRoutes([]Route{
		{Category: "directory", Name: "reg_success", Handler: mk("exact", &got)},
		{Category: "directory", Handler: mk("category", &got)},
		{Handler: mk("any", &got)},
	})
	tests := []struct{ cat, name, want string }{
		{"directory", "reg_success", "exact"},
		{"Directory", "REG-SUCCESS", "exact"}, // Kamailio lowercases and maps _ to -
		{"directory", "reg_flush", "category"},
		{"presence", "update", "any"},
		{"", "", "any"},
	}
	for _, tt := range tests {
		got = ""
		h := rs.pick(tt.cat, tt.name)
		if h == nil {
			t.Fatalf("%s/%s: no handler", tt.cat, tt.name)
		}
		_ = h(context.Background(), nil)
		if got != tt.want {
			t.Errorf("%s/%s went to %s, want %s", tt.cat, tt.name, got, tt.want)
		}
	}
	if newRoutes([]Route{{Category: "a", Handler: mk("a", &got)}}).pick("b", "c") != nil {
		t.Error("an unmatched event found a handler without a catch-all")
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
