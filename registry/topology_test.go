package registry

import (
	"slices"
	"testing"

	"github.com/warrenmq/warren/actors/kazoo"
)

func ids(entries []TopologyEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

func TestTopology_RecordForgetAndReplayOrder(t *testing.T) {
	r, w := New()
	bind := ExchangeBinding{Destination: "dst", Source: "src", RoutingKey: "a.#"}
	headers := ExchangeBinding{Destination: "dst", Source: "src", RoutingKey: "a.#", Args: map[string]any{"x-match": "all"}}
	other := ExchangeBinding{Destination: "elsewhere", Source: "callevt", RoutingKey: "k"}
	must(t, w.Topology.RecordExchange(kazoo.Exchange{Name: "src", Kind: "topic"}))
	must(t, w.Topology.RecordBinding(bind))
	must(t, w.Topology.RecordExchange(kazoo.Exchange{Name: "dst", Kind: "fanout"}))
	must(t, w.Topology.RecordBinding(headers))
	must(t, w.Topology.RecordBinding(other))

	t.Run("a binding's arguments tell it apart", func(t *testing.T) {
		if bind.ID() == headers.ID() {
			t.Fatalf("same id %q for bindings with and without arguments", bind.ID())
		}
	})
	t.Run("the table lists in recording order, replays exchanges first", func(t *testing.T) {
		want := []string{ExchangeID("src"), bind.ID(), ExchangeID("dst"), headers.ID(), other.ID()}
		if got := ids(r.Topology()); !slices.Equal(got, want) {
			t.Fatalf("topology %q, want %q", got, want)
		}
		want = []string{ExchangeID("src"), ExchangeID("dst"), bind.ID(), headers.ID(), other.ID()}
		if got := ids(Replay(r.Topology())); !slices.Equal(got, want) {
			t.Fatalf("replay %q, want %q", got, want)
		}
	})
	t.Run("recording again replaces the row in its place", func(t *testing.T) {
		must(t, w.Topology.RecordExchange(kazoo.Exchange{Name: "src", Kind: "direct"}))
		got := r.Topology()
		if got[0].ID != ExchangeID("src") || got[0].Exchange.Kind != "direct" || len(got) != 5 {
			t.Fatalf("after re-recording src: %+v", got)
		}
	})
	t.Run("forgetting an exchange forgets its bindings, not the others", func(t *testing.T) {
		must(t, w.Topology.ForgetExchange("dst"))
		want := []string{ExchangeID("src"), other.ID()}
		if got := ids(r.Topology()); !slices.Equal(got, want) {
			t.Fatalf("after forgetting dst: %q, want %q", got, want)
		}
		must(t, w.Topology.ForgetBinding(other))
		must(t, w.Topology.ForgetBinding(other)) // twice: nothing left to forget is no error
		if got := ids(r.Topology()); !slices.Equal(got, []string{ExchangeID("src")}) {
			t.Fatalf("after forgetting the binding: %q", got)
		}
	})
}
