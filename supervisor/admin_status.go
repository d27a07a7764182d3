package supervisor

import (
	"sort"

	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// AdminStatus is the body of GET /status: the node at a glance, like
// Kazoo's `sup kazoo_amqp_maintenance connection_summary`.
type AdminStatus struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"` // why not ready, in one line
	// Degraded says what a ready node cannot do ([Tree.Degraded]); empty
	// when nothing.
	Degraded   string      `json:"degraded,omitempty"`
	LocalZone  string      `json:"local_zone"`
	Zones      []AdminZone `json:"zones"`
	Listeners  AdminCount  `json:"listeners"`  // ready: consuming
	Publishers AdminCount  `json:"publishers"` // ready: a usable channel
	Workers    AdminCount  `json:"workers"`    // ready: replies can reach them
}

// AdminZone is one zone of GET /status.
type AdminZone struct {
	Name      string `json:"name"`
	Local     bool   `json:"local"`
	Primary   string `json:"primary"`   // the broker floats use: the available one with the smallest id; "" when none is up
	Brokers   int    `json:"brokers"`   // configured brokers (their consuming connections)
	Available int    `json:"available"` // of those, connected
	// Draining lists the zone's brokers being drained (Tree.DrainBroker),
	// by id; omitted when none is.
	Draining []string `json:"draining,omitempty"`
}

// AdminCount counts a pool's members and those ready, failed.
type AdminCount struct {
	Total  int `json:"total"`
	Ready  int `json:"ready"`
	Failed int `json:"failed,omitempty"`
}

func (t *Tree) adminStatus() AdminStatus {
	r, ready := t.adminReadiness()
	reg := t.Registry()
	s := AdminStatus{Ready: ready, Reason: redact.Text(r.Reason), Degraded: r.Degraded, LocalZone: t.LocalZone(), Zones: []AdminZone{}}
	zones := map[string]*AdminZone{}
	for _, c := range reg.Connections() {
		if c.Role == registry.Publish {
			continue
		}
		z := zones[c.Zone]
		if z == nil {
			z = &AdminZone{Name: c.Zone, Local: c.Zone == s.LocalZone}
			if p, ok := reg.Primary(c.Zone); ok {
				z.Primary = p.ID
			}
			zones[c.Zone] = z
		}
		z.Brokers++
		if c.Available {
			z.Available++
		}
		if c.Draining {
			z.Draining = append(z.Draining, c.Broker) // Connections is ordered by id
		}
	}
	for _, z := range zones {
		s.Zones = append(s.Zones, *z)
	}
	sort.Slice(s.Zones, func(i, j int) bool { return s.Zones[i].Name < s.Zones[j].Name })
	for _, l := range reg.Listeners() {
		s.Listeners.Total++
		switch l.State {
		case registry.ListenerConsuming:
			s.Listeners.Ready++
		case registry.ListenerFailed:
			s.Listeners.Failed++
		}
	}
	for _, p := range reg.Publishers() {
		s.Publishers.Total++
		if p.State == registry.PublisherReady {
			s.Publishers.Ready++
		}
	}
	for _, w := range reg.Workers() {
		s.Workers.Total++
		if w.State == registry.WorkerReady {
			s.Workers.Ready++
		}
	}
	return s
}

// AdminZoneRow is a row of GET /zones (warren zones).
type AdminZoneRow struct {
	Name       string `json:"name"`
	Local      bool   `json:"local"`
	Brokers    int    `json:"brokers"`    // configured brokers (their consuming connections)
	Available  bool   `json:"available"`  // a broker of the zone is connected
	Up         int    `json:"brokers_up"` // how many
	Primary    string `json:"primary"`    // the broker floats of the zone use; "" when none is up
	Federators int    `json:"federators"` // federators consuming from brokers of this zone
	Consuming  int    `json:"federators_consuming"`
}

// adminZones is GET /zones: every zone, the local one first.
func (t *Tree) adminZones() []AdminZoneRow {
	reg := t.Registry()
	rows := map[string]*AdminZoneRow{}
	row := func(name string) *AdminZoneRow {
		r := rows[name]
		if r == nil {
			r = &AdminZoneRow{Name: name, Local: name == t.LocalZone()}
			if p, ok := reg.Primary(name); ok {
				r.Primary = p.ID
			}
			rows[name] = r
		}
		return r
	}
	for _, c := range reg.Connections() {
		if c.Role == registry.Publish {
			continue
		}
		r := row(c.Zone)
		r.Brokers++
		if c.Available {
			r.Up++
			r.Available = true
		}
	}
	for _, l := range reg.Listeners() {
		if l.Parent == "" || l.Zone == "" {
			continue
		}
		r := row(l.Zone)
		r.Federators++
		if l.State == registry.ListenerConsuming {
			r.Consuming++
		}
	}
	out := make([]AdminZoneRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Local != out[j].Local {
			return out[i].Local
		}
		return out[i].Name < out[j].Name
	})
	return out
}
