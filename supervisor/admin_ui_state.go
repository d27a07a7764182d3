package supervisor

import (
	"time"

	"github.com/warrenmq/warren/registry"
)

// The observer's view of the tree: what one snapshot of the tables shows
// the page. Rows are the admin API's (credentials masked) with what the
// page adds: rates, negotiated limits, latency summaries.

// UIConnection is a connection row of the observer: [AdminConnection] with
// what the listing leaves out.
type UIConnection struct {
	AdminConnection
	Connects    int    `json:"connects"`            // successful connects since the tree started
	FrameMax    int    `json:"frame_max"`           // negotiated; 0 until connected
	Prechannels int    `json:"prechannels"`         // target of the broker's prechannel pool
	NextDial    string `json:"next_dial,omitempty"` // RFC 3339 time of the next dial, while one is due
	Actor       string `json:"actor"`               // path of the connection actor
}

// UIListener is a listener row of the observer: [AdminListener] with its
// channel, since when it is in its state, and its delivery rate.
type UIListener struct {
	AdminListener
	Channel string  `json:"channel"`
	Since   string  `json:"since"`
	Rate    float64 `json:"rate"` // deliveries received per second, over the last tick
}

// UIPublisher is a publisher row of the observer, with its publish rate.
type UIPublisher struct {
	registry.Publisher
	Rate float64 `json:"rate"` // publishes per second, over the last tick
}

// UIWorker is an RPC worker row of the observer, with its call rate.
type UIWorker struct {
	registry.RPCWorker
	Rate float64 `json:"rate"` // calls per second, over the last tick
}

// uiState is one snapshot of everything the page shows.
type uiState struct {
	status      AdminStatus
	tree        *registry.TreeNode
	connections []UIConnection
	channels    []AdminChannel
	listeners   []UIListener
	publishers  []UIPublisher
	workers     []UIWorker
	nodes       []registry.Node // the installation's nodes (kz_nodes)
	confirms    UILatency       // publishers: confirms in flight and their latency
	calls       UILatency       // workers: calls in flight and their latency
}

// uiState reads the tables once; rates come from r (nil: none).
func (t *Tree) uiState(r *uiRates) *uiState {
	reg := t.Registry()
	s := &uiState{status: t.adminStatus(), tree: t.adminTree()}
	for _, c := range reg.Connections() {
		row := UIConnection{AdminConnection: adminConnection(c), Connects: c.Connects, FrameMax: c.FrameMax,
			Prechannels: c.Prechannels, Actor: c.Actor}
		if !c.NextDial.IsZero() {
			row.NextDial = c.NextDial.Format(adminTime)
		}
		s.connections = append(s.connections, row)
	}
	s.channels = adminChannels(reg)
	for _, l := range reg.Listeners() {
		row := UIListener{AdminListener: adminListener(l), Channel: l.Channel, Rate: r.rate("l:"+l.Path, l.Received)}
		if !l.Since.IsZero() {
			row.Since = l.Since.Format(adminTime)
		}
		s.listeners = append(s.listeners, row)
	}
	for _, p := range reg.Publishers() {
		s.publishers = append(s.publishers, UIPublisher{Publisher: p, Rate: r.rate("p:"+p.ID, p.Published)})
	}
	for _, w := range reg.Workers() {
		s.workers = append(s.workers, UIWorker{RPCWorker: w, Rate: r.rate("w:"+w.Path, w.Calls)})
		s.calls.InFlight += w.Busy
	}
	s.nodes = reg.Nodes()
	if t.metrics != nil {
		s.confirms, s.calls = t.metrics.uiLatency(s.calls.InFlight)
	}
	return s
}

// uiItems are the states the timeline follows: connections, listeners,
// actors (with their restarts), publishers and workers.
func (s *uiState) items() []uiItem {
	var out []uiItem
	for _, c := range s.connections {
		// Each dial of a broker that is down is connecting, then
		// disconnected again: the timeline shows down and up, not every
		// attempt (the row counts them).
		st, detail := c.State, ""
		if st == registry.Connecting {
			st = registry.Disconnected
		}
		if st != registry.Connected {
			detail = c.LastError // redacted by adminConnection
		}
		out = append(out, uiItem{kind: "connection", id: c.ID, state: string(st), detail: detail})
	}
	for _, l := range s.listeners {
		out = append(out, uiItem{kind: "listener", id: l.Path, state: string(l.State), detail: l.LastError})
	}
	var walk func(n *registry.TreeNode)
	walk = func(n *registry.TreeNode) {
		out = append(out, uiItem{kind: "actor", id: n.Path, state: string(n.Status), restarts: n.Restarts})
		for _, c := range n.Children {
			walk(c)
		}
	}
	if s.tree != nil && len(s.tree.Children) > 0 { // a childless root is the placeholder before start
		walk(s.tree)
	}
	for _, p := range s.publishers {
		out = append(out, uiItem{kind: "publisher", id: p.ID, state: string(p.State)})
	}
	for _, w := range s.workers {
		out = append(out, uiItem{kind: "worker", id: w.Path, state: string(w.State)})
	}
	return out
}

// uiRates turns counters into per-second rates, once per tick: between
// ticks every snapshot shows the rates of the last one.
type uiRates struct {
	at    time.Time
	prev  map[string]uint64 // counters at the last tick
	cur   map[string]uint64 // counters seen since
	rates map[string]float64
}

func newUIRates() *uiRates {
	return &uiRates{prev: map[string]uint64{}, cur: map[string]uint64{}, rates: map[string]float64{}}
}

// rate records counter n of key and returns key's rate at the last tick.
func (r *uiRates) rate(key string, n uint64) float64 {
	if r == nil {
		return 0
	}
	r.cur[key] = n
	return r.rates[key]
}

// tick computes the rates of the counters recorded since the last tick;
// keys not recorded since are forgotten.
func (r *uiRates) tick(now time.Time) {
	if !r.at.IsZero() {
		secs := now.Sub(r.at).Seconds()
		for key, n := range r.cur {
			if p, ok := r.prev[key]; ok && n >= p && secs > 0 {
				r.rates[key] = float64(n-p) / secs
			} else {
				r.rates[key] = 0
			}
		}
		for key := range r.rates {
			if _, ok := r.cur[key]; !ok {
				delete(r.rates, key)
			}
		}
	}
	r.at, r.prev, r.cur = now, r.cur, map[string]uint64{}
}
