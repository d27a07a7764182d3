package registry

import (
	"slices"
	"testing"
)

// Federators finds the rows whose Parent names a listener, and no other:
// not the listener's own row, not another listener's federators, and none
// for an empty name (top-level listeners have no Parent).
func TestSnapshot_FederatorsAreTheRowsOfTheirParent(t *testing.T) {
	r, w := New()
	for _, row := range []Listener{
		{Path: "warren/listeners/calls", Name: "calls"},
		{Path: "warren/federators/calls@zone-b", Name: "calls", Parent: "calls"},
		{Path: "warren/federators/calls@zone-c", Name: "calls", Parent: "calls"},
		{Path: "warren/listeners/calls-log", Name: "calls-log"},
		{Path: "warren/federators/calls-log@zone-b", Name: "calls-log", Parent: "calls-log"},
	} {
		must(t, w.Listeners.PutListener(row))
	}
	var paths []string
	for _, row := range r.Snapshot().Federators("calls") {
		paths = append(paths, row.Path)
	}
	if want := []string{"warren/federators/calls@zone-b", "warren/federators/calls@zone-c"}; !slices.Equal(paths, want) {
		t.Fatalf("Federators(calls) = %v, want %v", paths, want)
	}
	if rows := r.Snapshot().Federators(""); len(rows) != 0 {
		t.Fatalf("Federators(\"\") = %d rows, want none", len(rows))
	}
	must(t, w.Listeners.DeleteListener("warren/federators/calls@zone-b"))
	if rows := r.Snapshot().Federators("calls"); len(rows) != 1 || rows[0].Path != "warren/federators/calls@zone-c" {
		t.Fatalf("Federators(calls) after a delete = %+v, want the zone-c row alone", rows)
	}
}
