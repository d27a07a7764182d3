package supervisor

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/publish"
)

// allZones is the zone of a publish or a call that goes to every zone:
// publish.AllZones and rpc.AllZones are the same "*" (zone_router_test.go).
const allZones = publish.AllZones

// zoneRouter maps the zone of a publish (publish.ToZone) or a call
// (rpc.Request.Zone) to the pool of that zone: "" and the local zone to
// the local zone's pool, another zone to its own. [zoneRouter.each] runs
// the all-zones fan-out of both. Tree.Publish routes through a
// zoneRouter of publishers pools, Tree.Call through one of RPC pools.
//
// Owner: Start fills it; it is read-only, and safe for concurrent use,
// from then on.
type zoneRouter[P comparable] struct {
	kind  string       // the pool supervisors' name: actors.PublishersName, WorkersName
	zones []string     // the local zone first, then the others in config order
	pools map[string]P // a zone whose pool the tree does not run is missing
	none  error        // the error for such a zone: publish.ErrStopped, rpc.ErrStopped

	// The local zone's pool, the one almost every publish and call goes
	// to, kept apart so that they skip a map lookup (a string hash): 5-8 %
	// of Warren's own work in a fire-and-forget publish.
	localPool P
	hasLocal  bool
}

func newZoneRouter[P comparable](kind string, zones []string, none error) *zoneRouter[P] {
	return &zoneRouter[P]{kind: kind, zones: zones, pools: map[string]P{}, none: none}
}

// set makes p the pool of zone.
func (r *zoneRouter[P]) set(zone string, p P) {
	r.pools[zone] = p
	if zone == r.zones[0] {
		r.localPool, r.hasLocal = p, true
	}
}

// local returns the local zone's pool, if the tree runs one.
func (r *zoneRouter[P]) local() (P, bool) { return r.localPool, r.hasLocal }

// of returns the pool of zone ("" the local zone). A zone the tree does
// not know fails naming the zones it knows; one whose pool it does not
// run fails with r.none. AllZones is no one zone: callers fan out with each.
func (r *zoneRouter[P]) of(zone string) (P, error) {
	if zone == "" {
		if r.hasLocal {
			return r.localPool, nil
		}
		zone = r.zones[0]
	}
	if p, ok := r.pools[zone]; ok {
		return p, nil
	}
	var none P
	if !slices.Contains(r.zones, zone) {
		return none, fmt.Errorf("warren: no zone %q (zones: %s)", zone, strings.Join(r.zones, ", "))
	}
	return none, r.none
}

// each calls f for every zone at once, with that zone's pool, and returns
// once every call returned: errs[i] is zone i's failure (of's error when
// the tree runs no pool there), naming the zone, or nil. i indexes the
// zones in r's order, for f to store a result.
func (r *zoneRouter[P]) each(f func(i int, zone string, p P) error) (errs []error) {
	errs = make([]error, len(r.zones))
	var wg sync.WaitGroup
	for i, z := range r.zones {
		wg.Go(func() {
			p, err := r.of(z)
			if err == nil {
				err = f(i, z, p)
			}
			if err != nil {
				errs[i] = fmt.Errorf("zone %s: %w", z, err)
			}
		})
	}
	wg.Wait()
	return errs
}

// name returns the name of the supervisor of zone's pool: the kind for
// the local zone, "<kind>@<zone>" for another.
func (r *zoneRouter[P]) name(zone string) string {
	if zone == r.zones[0] {
		return r.kind
	}
	return actors.ZonePoolName(r.kind, zone)
}

// all returns the pools the tree runs, the local zone's first, with the
// names of their supervisors; none from a nil router (a Tree that Start
// did not build).
func (r *zoneRouter[P]) all() (names []string, pools []P) {
	if r == nil {
		return nil, nil
	}
	for _, z := range r.zones {
		if p, ok := r.pools[z]; ok {
			names, pools = append(names, r.name(z)), append(pools, p)
		}
	}
	return names, pools
}
