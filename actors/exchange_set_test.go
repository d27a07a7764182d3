package actors

import "testing"

func TestExchangeSet_FollowsDeclaresAndDeletes(t *testing.T) {
	var none *ExchangeSet
	if none.Has("x") {
		t.Fatal("the nil set holds x")
	}
	s := &ExchangeSet{}
	s.applied(TopologyChange{Op: TopoDeclare, Exchange: Exchange{Name: "x", Kind: "topic"}})
	s.applied(TopologyChange{Op: TopoDeclare, Exchange: Exchange{Name: "ad", Kind: "topic", AutoDelete: true}})
	s.applied(TopologyChange{Op: TopoBind, Binding: ExchangeBinding{Destination: "b", Source: "x"}})
	if !s.Has("x") || s.Has("ad") || s.Has("b") {
		t.Fatalf("after declares: x %v, auto-delete ad %v, bound b %v; want true, false, false", s.Has("x"), s.Has("ad"), s.Has("b"))
	}
	s.applied(TopologyChange{Op: TopoDelete, Exchange: Exchange{Name: "x"}})
	if s.Has("x") {
		t.Fatal("x deleted and still in the set")
	}
}
