package supervisor

import "github.com/warrenmq/warren/registry"

// AdminPublishers is the body of GET /publishers: the publishers pool's
// totals and one row per publisher actor.
type AdminPublishers struct {
	Size        int                  `json:"size"`
	Published   uint64               `json:"published"`
	Confirmed   uint64               `json:"confirmed"`
	Nacked      uint64               `json:"nacked"`
	Returned    uint64               `json:"returned"`
	Unconfirmed uint64               `json:"unconfirmed"`
	Resent      uint64               `json:"resent"` // writes again of confirmed publishes whose channel died before the ack
	Buffered    int64                `json:"buffered"`
	Dropped     uint64               `json:"dropped"`
	Publishers  []registry.Publisher `json:"publishers"`
}

func adminPublishers(r *registry.Registry) AdminPublishers {
	rows := r.Publishers()
	out := AdminPublishers{Size: len(rows), Publishers: rows}
	if out.Publishers == nil {
		out.Publishers = []registry.Publisher{}
	}
	for _, p := range rows {
		out.Published += p.Published
		out.Confirmed += p.Confirmed
		out.Nacked += p.Nacked
		out.Returned += p.Returned
		out.Unconfirmed += p.Unconfirmed
		out.Resent += p.Resent
		out.Buffered += p.Buffered
		out.Dropped += p.Dropped
	}
	return out
}
