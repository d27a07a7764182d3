package listener_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// Routes added and removed at run time apply to the deliveries dispatched
// after the call returned; removing a route it does not have, or adding
// one without a handler, fails with the reason.
func TestListener_RoutesAddedAndRemovedAtRunTime(t *testing.T) {
	r := start(t, noPublishers)
	got := make(chan string, 8)
	route := func(tag string) listener.Handler {
		return func(_ context.Context, d *listener.Delivery) error {
			got <- tag + ":" + d.Envelope.MsgID()
			return nil
		}
	}
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "live-routes", Queue: listener.QueueSpec{Name: "live-routes-q"},
		Handlers: []listener.Route{{Category: "call", Name: "hangup", Handler: route("spec")}}})
	ch := rawChannel(t, r.nb)
	// collect reads n route calls for one event, sorted.
	collect := func(n int) string {
		var out []string
		for range n {
			out = append(out, recv(t, got, 5*time.Second, "a route's call"))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}

	publishJSON(t, ch, "", "live-routes-q", event("call", "hangup", "m1"))
	if s := collect(1); s != "spec:m1" {
		t.Fatalf("before the add: %s", s)
	}
	if err := r.tree.AddRoute(within(t, 5*time.Second), pid, listener.Route{Category: "*", Name: "hangup", Handler: route("added")}); err != nil {
		t.Fatalf("AddRoute: %v", err)
	}
	publishJSON(t, ch, "", "live-routes-q", event("presence", "hangup", "m2")) // only the new {"*", Name} matches
	publishJSON(t, ch, "", "live-routes-q", event("call", "hangup", "m3"))
	if s := collect(3); s != "added:m2 added:m3 spec:m3" {
		t.Fatalf("after the add: %s", s)
	}
	if err := r.tree.RemoveRoute(within(t, 5*time.Second), pid, "Call", "HANGUP"); err != nil {
		t.Fatalf("RemoveRoute: %v", err)
	}
	publishJSON(t, ch, "", "live-routes-q", event("call", "hangup", "m4"))
	if s := collect(1); s != "added:m4" {
		t.Fatalf("after the remove: %s", s)
	}
	if err := r.tree.RemoveRoute(within(t, 5*time.Second), pid, "call", "hangup"); !errors.Is(err, listener.ErrNoRoute) ||
		!strings.Contains(err.Error(), "call.hangup") {
		t.Fatalf("second RemoveRoute = %v, want ErrNoRoute naming call.hangup", err)
	}
	if err := r.tree.AddRoute(within(t, 5*time.Second), pid, listener.Route{Category: "x"}); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("AddRoute without a handler = %v, want the reason", err)
	}
	if err := r.tree.RemoveRoute(within(t, 5*time.Second), pid, "*", "hangup"); err != nil {
		t.Fatalf("RemoveRoute of the last route: %v", err)
	}
	publishJSON(t, ch, "", "live-routes-q", event("call", "hangup", "m5")) // no route left: acked, unhandled
	row := waitRow(t, r.tree, pid.Id, "5 acked, one unhandled", func(l registry.Listener) bool {
		return l.Acked == 5 && l.Unhandled == 1 && l.InFlight == 0
	})
	if row.Errors+row.Nacked != 0 || len(got) != 0 {
		t.Fatalf("row %+v, %d calls left over", row, len(got))
	}
}

// A federated listener's route changes reach its federators: an event
// consumed from the other zone's broker runs a route added at run time on
// the parent, and no longer once it is removed.
func TestListener_RoutesAddedAtRunTimeReachFederators(t *testing.T) {
	east := treetest.NullBroker(t, nullbroker.Config{})
	r := start(t, func(cfg *supervisor.Config) {
		cfg.Publish.Publishers = -1
		cfg.LocalZone = "local"
		cfg.Zones = append(cfg.Zones, supervisor.Zone{Name: "east", Brokers: []string{east.URL()}})
	})
	got := make(chan string, 8)
	route := func(tag string) listener.Handler {
		return func(_ context.Context, d *listener.Delivery) error {
			got <- tag + ":" + d.Envelope.MsgID() + "@" + d.Zone
			return nil
		}
	}
	pid, _ := spawn(t, r.tree, listener.Spec{Name: "fed-routes", Queue: listener.QueueSpec{Name: "fed-routes-q", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: "k", Declare: true, Kind: "topic"}},
		Federate: true,
		Handlers: []listener.Route{{Category: "call", Handler: route("spec")}}})
	eventually(t, r.tree, 15*time.Second, "the federator on east consuming", func() bool {
		fs := r.tree.Federators("fed-routes")
		return len(fs) == 1 && fs[0].State == registry.ListenerConsuming
	})
	ch := rawChannel(t, east)
	if err := r.tree.AddRoute(within(t, 5*time.Second), pid, listener.Route{Name: "hangup", Handler: route("added")}); err != nil {
		t.Fatalf("AddRoute: %v", err)
	}
	publishJSON(t, ch, "callevt", "k", event("call", "hangup", "e1"))
	a, b := recv(t, got, 5*time.Second, "a route"), recv(t, got, 5*time.Second, "the other route")
	if pair := []string{a, b}; !slices.Contains(pair, "added:e1@east") || !slices.Contains(pair, "spec:e1@east") {
		t.Fatalf("the east event ran %v, want the spec's route and the added one", pair)
	}
	if err := r.tree.RemoveRoute(within(t, 5*time.Second), pid, "*", "HangUp"); err != nil {
		t.Fatalf("RemoveRoute: %v", err)
	}
	publishJSON(t, ch, "callevt", "k", event("call", "hangup", "e2"))
	if s := recv(t, got, 5*time.Second, "the spec's route"); s != "spec:e2@east" {
		t.Fatalf("after the remove the east event ran %s", s)
	}
	fed := r.tree.Federators("fed-routes")[0]
	waitRow(t, r.tree, fed.Path, "2 acked", func(l registry.Listener) bool { return l.Acked == 2 && l.InFlight == 0 })
	if len(got) != 0 {
		t.Fatalf("a removed route ran: %s", <-got)
	}
}
