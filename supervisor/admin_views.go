package supervisor

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

// AdminConnection is one element of GET /connections: a broker connection.
type AdminConnection struct {
	ID         string             `json:"id"`          // connection id: the broker id, "~publish" appended for publishing
	Broker     string             `json:"broker"`      // broker id, host:port[@vhost]
	Role       registry.ConnRole  `json:"role"`        // consume or publish
	URI        string             `json:"uri"`         // password always masked
	Zone       string             `json:"zone"`        //
	Local      bool               `json:"local"`       // the zone is this node's
	State      registry.ConnState `json:"state"`       //
	Available  bool               `json:"available"`   // usable for new channels
	Attempts   int                `json:"attempts"`    // dial attempts since the last connect
	LastError  string             `json:"last_error"`  // credentials removed
	Channels   int                `json:"channels"`    // channels held: prechannels, assigned, control
	ChannelMax int                `json:"channel_max"` // negotiated; 0 until connected
	Heartbeat  string             `json:"heartbeat"`   // negotiated, e.g. "10s"; "-" before the first connect
	Product    string             `json:"product"`     // e.g. RabbitMQ
	Version    string             `json:"version"`     // e.g. 3.10.8
	Since      string             `json:"since"`       // RFC 3339 time of the last state change; for a broker down, when it went down
	// ExchangeErrors lists the configured exchanges the broker refused to
	// declare (406 …), with its reason; omitted when there are none.
	ExchangeErrors []string `json:"exchange_errors,omitempty"`
	// Draining: the broker is being drained (Tree.DrainBroker): floats
	// take none of its channels while another broker of its zone is up.
	Draining bool `json:"draining"`
	// Floats and Stickies count the float and sticky channels consumers
	// hold on this connection (Kazoo's broker_summary).
	Floats   int `json:"floats"`
	Stickies int `json:"stickies"`
}

// AdminChannel is one element of GET /channels: a prechannel, or a consumer
// with its channel (or waiting for one).
type AdminChannel struct {
	ID         string               `json:"id"`               // channel id "<broker>#<n>"; "" while waiting
	Consumer   string               `json:"consumer"`         // consumer actor path; "" for prechannels
	App        string               `json:"app"`              //
	Type       registry.ChannelType `json:"type"`             // float or sticky
	Broker     string               `json:"broker"`           // "" while a float waits
	Zone       string               `json:"zone"`             //
	State      registry.AssignState `json:"state"`            //
	Reconnect  bool                 `json:"reconnect"`        // replaces a lost channel
	Watchers   int                  `json:"watchers"`         // callers blocked waiting for it
	AssignedAt string               `json:"assigned_at"`      // RFC 3339; "" until assigned
	Reason     string               `json:"reason,omitempty"` // why a waiting consumer has no channel yet (channel_max reached)
}

// AdminHealth is the body of GET /healthz.
type AdminHealth struct {
	Status string `json:"status"`          // "ok", "stopped" or "failed"
	Error  string `json:"error,omitempty"` // why the tree failed
}

// AdminReadiness is the body of GET /readyz.
type AdminReadiness struct {
	Status string `json:"status"`           // "ready", "degraded" (ready, see Degraded) or "not_ready"
	Reason string `json:"reason,omitempty"` // why not, in one line
	// Degraded says, in one line, what a ready node cannot do
	// ([Tree.Degraded]); empty when nothing.
	Degraded  string        `json:"degraded,omitempty"`
	LocalZone string        `json:"local_zone"` //
	Bootstrap string        `json:"bootstrap"`  // detail line of warren/bootstrap
	Brokers   []AdminBroker `json:"brokers"`    // every connection, with its last error
}

// AdminBroker is a connection's state as GET /readyz reports it.
type AdminBroker struct {
	ID        string             `json:"id"`
	Zone      string             `json:"zone"`
	State     registry.ConnState `json:"state"`
	Available bool               `json:"available"`
	LastError string             `json:"last_error,omitempty"`
}

// AdminError is the body of a 404 or 405 answer (unknown path, not GET).
type AdminError struct {
	Error string `json:"error"`
}

// adminTime formats the admin API's times: RFC 3339 with milliseconds.
const adminTime = "2006-01-02T15:04:05.000Z07:00"

// adminConnections builds GET /connections; the registry counts each
// connection's channels (prechannels, assigned, control) in the same read.
func adminConnections(reg *registry.Registry) []AdminConnection {
	s := reg.Snapshot()
	rows := s.Connections()
	out := make([]AdminConnection, 0, len(rows))
	at := make(map[string]int, len(rows))
	for i, c := range rows {
		out = append(out, adminConnection(c))
		at[c.ID] = i
	}
	for _, a := range s.Assignments() {
		i, ok := at[a.Broker]
		if !ok || a.Consumer == "" || a.Channel == "" {
			continue // a prechannel, or waiting
		}
		if a.Type == registry.Sticky {
			out[i].Stickies++
		} else {
			out[i].Floats++
		}
	}
	return out
}

// adminConnection is one row of GET /connections, credentials masked.
func adminConnection(c registry.Connection) AdminConnection {
	since := ""
	if !c.Since.IsZero() {
		since = c.Since.Format(adminTime)
	}
	heartbeat := c.Heartbeat.String()
	if c.Heartbeat == 0 && c.Connects == 0 {
		heartbeat = "-" // never negotiated, not "0s" (disabled)
	}
	return AdminConnection{
		ID: c.ID, Broker: c.Broker, Role: c.Role, URI: redact.URI(c.URI), Zone: c.Zone, Local: c.Local, State: c.State,
		Available: c.Available, Attempts: c.Attempts, LastError: redact.Text(c.LastError), Channels: c.Channels,
		ChannelMax: c.ChannelMax, Heartbeat: heartbeat, Product: c.Product,
		Version: c.Version, Since: since, ExchangeErrors: c.ExchangeErrors, Draining: c.Draining,
	}
}

// adminChannels builds GET /channels.
func adminChannels(reg *registry.Registry) []AdminChannel {
	rows := reg.Assignments()
	out := make([]AdminChannel, 0, len(rows))
	for _, a := range rows {
		at := ""
		if !a.AssignedAt.IsZero() {
			at = a.AssignedAt.Format(adminTime)
		}
		out = append(out, AdminChannel{
			ID: a.Channel, Consumer: a.Consumer, App: a.App, Type: a.Type, Broker: a.Broker,
			Zone: a.Zone, State: a.State, Reconnect: a.Reconnect, Watchers: a.Watchers, AssignedAt: at, Reason: a.Reason,
		})
	}
	// Broker, then channel number: "b#2" before "b#10", unlike the row keys.
	slices.SortStableFunc(out, func(x, y AdminChannel) int {
		return cmp.Or(cmp.Compare(x.Broker, y.Broker), cmp.Compare(channelNumber(x.ID), channelNumber(y.ID)),
			cmp.Compare(x.Consumer, y.Consumer))
	})
	return out
}

// channelNumber is n of a channel id "<broker>#<n>", or -1.
func channelNumber(id string) int {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil {
		return -1
	}
	return n
}

// adminTree builds GET /tree. Before the root's row exists (start) and after
// it is gone (stop) it answers a childless root.
func (t *Tree) adminTree() *registry.TreeNode {
	root := t.Snapshot()
	if root == nil {
		status := registry.ActorStatus("starting")
		select {
		case <-t.done:
			status = "stopped"
		default:
		}
		return &registry.TreeNode{Name: actors.RootName, Path: actors.RootName, Kind: registry.Supervisor,
			Status: status, Children: []*registry.TreeNode{}}
	}
	var clean func(n *registry.TreeNode)
	clean = func(n *registry.TreeNode) {
		n.Detail = redact.Text(n.Detail)
		if n.Children == nil {
			n.Children = []*registry.TreeNode{}
		}
		for _, c := range n.Children {
			clean(c)
		}
	}
	clean(root)
	return root
}

// adminHealth builds GET /healthz and tells whether the tree is alive.
func (t *Tree) adminHealth() (AdminHealth, bool) {
	select {
	case <-t.done:
		if err := t.Err(); err != nil {
			return AdminHealth{Status: "failed", Error: redact.Text(err.Error())}, false
		}
		return AdminHealth{Status: "stopped"}, false
	default:
		return AdminHealth{Status: "ok"}, true
	}
}

// adminReadiness builds GET /readyz and tells whether the tree is ready.
func (t *Tree) adminReadiness() (AdminReadiness, bool) {
	ready := t.Ready()
	reg := t.Registry()
	r := AdminReadiness{Status: "ready", LocalZone: t.LocalZone(), Brokers: []AdminBroker{}}
	if row, ok := reg.Actor(actors.RootName + "/" + actors.BootstrapName); ok {
		r.Bootstrap = redact.Text(row.Detail)
	}
	localUp := false
	for _, c := range reg.Connections() {
		r.Brokers = append(r.Brokers, AdminBroker{ID: c.ID, Zone: c.Zone, State: c.State,
			Available: c.Available, LastError: redact.Text(c.LastError)})
		localUp = localUp || (c.Zone == r.LocalZone && c.Available)
	}
	health, alive := t.adminHealth()
	if ready && alive {
		// Degraded stays 200: the node serves its other consumers, and a
		// probe failing would only take it out of rotation and stall a
		// rolling deploy; the body says what it cannot do.
		if d := t.Degraded(); d != "" {
			r.Status, r.Degraded = "degraded", redact.Text(d)
		}
		return r, true
	}
	r.Status = "not_ready"
	switch {
	case !alive && health.Error != "":
		r.Reason = "tree stopped: " + health.Error
	case !alive:
		r.Reason = "tree stopped"
	case !localUp:
		r.Reason = "no broker of zone " + strconv.Quote(r.LocalZone) + " is available"
	case r.Bootstrap == "":
		r.Reason = "bootstrap has not started"
	case r.Bootstrap != actors.BootstrapReady:
		r.Reason = "bootstrap: " + r.Bootstrap
	default:
		r.Reason = "not ready yet"
	}
	return r, false
}
