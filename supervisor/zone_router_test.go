package supervisor

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
)

// One spelling of "every zone" for publishes and calls.
func TestAllZones_IsOneValueForPublishesAndCalls(t *testing.T) {
	if publish.AllZones != rpc.AllZones || allZones != rpc.AllZones {
		t.Fatalf("publish.AllZones %q, rpc.AllZones %q, router %q", publish.AllZones, rpc.AllZones, allZones)
	}
}

func TestZoneRouter_Of(t *testing.T) {
	errNone := errors.New("none here")
	r := newZoneRouter[*int]("publishers", []string{"a", "b", "c"}, errNone)
	one, two := new(int), new(int)
	r.set("a", one)
	r.set("b", two) // c runs no pool
	tests := []struct {
		name    string
		zone    string
		want    *int
		wantErr string
	}{
		{name: "the empty zone is the local one", zone: "", want: one},
		{name: "the local zone by name", zone: "a", want: one},
		{name: "another zone", zone: "b", want: two},
		{name: "a zone whose pool the tree does not run", zone: "c", wantErr: "none here"},
		{name: "an unknown zone names the known ones", zone: "x", wantErr: `warren: no zone "x" (zones: a, b, c)`},
		{name: "all zones is no one zone", zone: allZones, wantErr: `warren: no zone "*" (zones: a, b, c)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.of(tt.zone)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("of(%q) = %v, %v; want error %q", tt.zone, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("of(%q) = %v, %v", tt.zone, got, err)
			}
		})
	}
	if names, pools := r.all(); len(pools) != 2 || names[0] != "publishers" || names[1] != "publishers@b" || pools[0] != one {
		t.Fatalf("all() = %v, %v", names, pools)
	}
}

// The fan-out calls f once per zone that runs a pool, indexes the results
// by zone, and names the zone of each failure.
func TestZoneRouter_EachNamesTheZoneOfEveryFailure(t *testing.T) {
	errNone := errors.New("none here")
	r := newZoneRouter[*int]("workers", []string{"a", "b", "c"}, errNone)
	r.set("a", new(int))
	r.set("b", new(int))
	boom := errors.New("boom")
	var calls atomic.Int32
	seen := make([]string, 3)
	errs := r.each(func(i int, zone string, _ *int) error {
		calls.Add(1)
		seen[i] = zone
		if zone == "b" {
			return boom
		}
		return nil
	})
	if calls.Load() != 2 || seen[0] != "a" || seen[1] != "b" || seen[2] != "" {
		t.Fatalf("%d calls, zones %v", calls.Load(), seen)
	}
	if errs[0] != nil || !errors.Is(errs[1], boom) || errs[1].Error() != "zone b: boom" ||
		!errors.Is(errs[2], errNone) || errs[2].Error() != "zone c: none here" {
		t.Fatalf("errs = %v", errs)
	}
}
