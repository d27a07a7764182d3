package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// DefaultAdminDrainTimeout is how long POST /brokers/{id}/drain waits for
// the broker's floats to move when its body names no timeout;
// AdminMaxDrainTimeout caps a timeout it names (the answer must be
// written within AdminWriteTimeout).
const (
	DefaultAdminDrainTimeout = 20 * time.Second
	AdminMaxDrainTimeout     = AdminWriteTimeout - 5*time.Second
)

// AdminBrokerSummary is one element of GET /brokers, Kazoo's
// broker_summary: a broker, its connections and the channels held on it.
type AdminBrokerSummary struct {
	ID          string             `json:"id"`          // host:port[@vhost]
	Zone        string             `json:"zone"`        //
	State       registry.ConnState `json:"state"`       // of its consuming connection
	URI         string             `json:"uri"`         // password masked
	Connections []string           `json:"connections"` // its connection ids
	Floats      int                `json:"floats"`      // float channels held on it by consumers
	Stickies    int                `json:"stickies"`    // sticky channels held on it
	Draining    bool               `json:"draining"`    //
	Tags        []string           `json:"tags"`        // the broker's tags (config or POST /brokers)
	Hidden      bool               `json:"hidden"`      // serves stickies only
}

// AdminAddBroker is the body of POST /brokers.
type AdminAddBroker struct {
	URI         string   `json:"uri"`         // never echoed
	Zone        string   `json:"zone"`        // "" for the local zone
	Connections int      `json:"connections"` // consuming connections; 0 means 1
	Tags        []string `json:"tags"`        //
	Hidden      bool     `json:"hidden"`      //
}

// AdminDrain is the optional body of POST /brokers/{id}/drain.
type AdminDrain struct {
	Timeout string `json:"timeout"` // a Go duration; "" means DefaultAdminDrainTimeout
}

// adminBrokers builds GET /brokers from one snapshot of the connections and
// the assignments.
func (t *Tree) adminBrokers() []AdminBrokerSummary {
	s := t.Registry().Snapshot()
	byConn := map[string]*AdminBrokerSummary{}
	out := []*AdminBrokerSummary{}
	byID := map[string]*AdminBrokerSummary{}
	for _, c := range s.Connections() {
		b := byID[c.Broker]
		if b == nil {
			b = &AdminBrokerSummary{ID: c.Broker, Zone: c.Zone, Tags: []string{}, Connections: []string{}}
			byID[c.Broker] = b
			out = append(out, b)
		}
		if c.Role != registry.Publish || b.State == "" {
			b.State, b.URI = c.State, redact.URI(c.URI)
		}
		if len(b.Tags) == 0 && len(c.Tags) > 0 {
			b.Tags = c.Tags
		}
		b.Hidden = b.Hidden || c.Hidden
		b.Connections = append(b.Connections, c.ID)
		b.Draining = b.Draining || c.Draining
		byConn[c.ID] = b
	}
	for _, a := range s.Assignments() {
		b := byConn[a.Broker]
		if b == nil || a.Consumer == "" || a.Channel == "" {
			continue // a prechannel, or waiting
		}
		if a.Type == registry.Sticky {
			b.Stickies++
		} else {
			b.Floats++
		}
	}
	rows := make([]AdminBrokerSummary, 0, len(out))
	for _, b := range out {
		rows = append(rows, *b)
	}
	slices.SortFunc(rows, func(x, y AdminBrokerSummary) int { return strings.Compare(x.ID, y.ID) })
	return rows
}

// brokerKnown tells whether id is a broker of the connections table.
func (t *Tree) brokerKnown(id string) bool {
	for _, c := range t.Registry().Connections() {
		if c.Broker == id {
			return true
		}
	}
	return false
}

func noSuchBroker(id string) (int, any) {
	return http.StatusNotFound, AdminError{Error: fmt.Sprintf("no broker %q (GET /brokers lists them)", adminClip(id, adminEchoMax))}
}

// adminAddBroker serves POST /brokers: 201 with the new broker's id.
func (t *Tree) adminAddBroker(req *http.Request) (int, any) {
	var body AdminAddBroker
	if code, e := decodeBody(req, &body, false); e != nil {
		return code, *e
	}
	if body.URI == "" {
		return http.StatusBadRequest, AdminError{Error: "request body: uri is required"}
	}
	if body.Connections < 0 {
		return http.StatusBadRequest, AdminError{Error: fmt.Sprintf("request body: connections %d: need 0 or more", body.Connections)}
	}
	if _, err := redact.ParseURI(body.URI); err != nil {
		return http.StatusBadRequest, AdminError{Error: "request body: uri is not an AMQP URI (amqp://user:password@host:port/vhost)"}
	}
	o := BrokerOptions{Zone: body.Zone, Connections: body.Connections, Tags: body.Tags, Hidden: body.Hidden}
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	defer cancel()
	id, err := t.AddBrokerWith(ctx, body.URI, o)
	switch {
	case err == nil:
	case id == "":
		return adminFail(http.StatusBadRequest, err)
	case strings.Contains(err.Error(), "already added"):
		return adminFail(http.StatusConflict, err)
	default:
		return adminFail(http.StatusBadGateway, err)
	}
	zone := body.Zone
	if zone == "" {
		zone = t.LocalZone()
	}
	t.adminLog().Info("broker added through the admin API", "broker", id, "zone", zone)
	return http.StatusCreated, AdminChange{Action: "added", Kind: "broker", ID: id,
		Message: fmt.Sprintf("broker %s added to zone %s (%s)", id, zone, redact.URI(body.URI))}
}

// adminRemoveBroker serves DELETE /brokers/{id}.
func (t *Tree) adminRemoveBroker(req *http.Request) (int, any) {
	id := req.PathValue("id")
	if !t.brokerKnown(id) {
		return noSuchBroker(id)
	}
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	defer cancel()
	if err := t.RemoveBroker(ctx, id); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return noSuchBroker(id)
		}
		return adminFail(http.StatusBadGateway, err)
	}
	t.adminLog().Info("broker removed through the admin API", "broker", id)
	return http.StatusOK, AdminChange{Action: "removed", Kind: "broker", ID: id, Message: "broker " + id + " removed: its connections are closed"}
}

// adminDrainBroker serves POST /brokers/{id}/drain: it answers once no
// float holds a channel of the broker (200), or with what still holds one
// when the timeout passes (504), or 409 when no other broker of its zone
// is up.
func (t *Tree) adminDrainBroker(req *http.Request) (int, any) {
	id := req.PathValue("id")
	var body AdminDrain
	if code, e := decodeBody(req, &body, true); e != nil {
		return code, *e
	}
	timeout := DefaultAdminDrainTimeout
	if body.Timeout != "" {
		d, err := time.ParseDuration(body.Timeout)
		if err != nil || d <= 0 || d > AdminMaxDrainTimeout {
			return http.StatusBadRequest, AdminError{Error: fmt.Sprintf("request body: timeout %q: want a duration over 0 and at most %v",
				adminClip(body.Timeout, 32), AdminMaxDrainTimeout)}
		}
		timeout = d
	}
	if !t.brokerKnown(id) {
		return noSuchBroker(id)
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	start := time.Now()
	err := t.DrainBroker(ctx, id)
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrNotFound):
		return noSuchBroker(id)
	case errors.Is(err, actors.ErrLastBroker):
		return adminFail(http.StatusConflict, err)
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, AdminError{Error: fmt.Sprintf("broker %s not drained within %v (still draining: no new floats take it): %s",
			id, timeout, redact.Error(err))}
	default:
		return adminFail(http.StatusBadGateway, err)
	}
	t.adminLog().Info("broker drained through the admin API", "broker", id)
	return http.StatusOK, AdminChange{Action: "drained", Kind: "broker", ID: id, Message: fmt.Sprintf(
		"broker %s drained in %v: no float holds a channel on it; its stickies stay", id, time.Since(start).Round(time.Millisecond))}
}

// adminUndrainBroker serves POST /brokers/{id}/undrain.
func (t *Tree) adminUndrainBroker(req *http.Request) (int, any) {
	id := req.PathValue("id")
	if !t.brokerKnown(id) {
		return noSuchBroker(id)
	}
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	defer cancel()
	if err := t.UndrainBroker(ctx, id); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return noSuchBroker(id)
		}
		return adminFail(http.StatusBadGateway, err)
	}
	t.adminLog().Info("broker undrained through the admin API", "broker", id)
	return http.StatusOK, AdminChange{Action: "undrained", Kind: "broker", ID: id,
		Message: "broker " + id + " undrained: it takes new float channels again"}
}
