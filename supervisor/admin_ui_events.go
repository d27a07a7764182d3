package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/warrenmq/warren/registry"
)

// GET /ui/events is a server-sent event stream. Its first event, "reset",
// holds everything; each later "update" holds what changed since the one
// before: the parts whose JSON changed, and for each table the rows added or
// changed ("set") and the keys of rows gone ("del"); the timeline's new
// events. A browser's EventSource reconnects by itself and gets a reset.

// UIUpdate is the data of one event of GET /ui/events.
type UIUpdate struct {
	Time     string                  `json:"time"`               // RFC 3339, when the snapshot was read
	Reset    bool                    `json:"reset,omitempty"`    // forget what came before
	Status   json.RawMessage         `json:"status,omitempty"`   // AdminStatus
	Tree     json.RawMessage         `json:"tree,omitempty"`     // registry.TreeNode
	Confirms json.RawMessage         `json:"confirms,omitempty"` // UILatency of the publishers' confirms
	Calls    json.RawMessage         `json:"calls,omitempty"`    // UILatency of the RPC calls
	Tables   map[string]*UITableDiff `json:"tables,omitempty"`   // connections, channels, listeners, publishers, workers, nodes
	Timeline []UIEvent               `json:"timeline,omitempty"` // new events, oldest first
}

// UITableDiff is the change of one table: rows to add or replace, keys to
// drop. Each row carries its key in the field "key".
type UITableDiff struct {
	Set []json.RawMessage `json:"set,omitempty"`
	Del []string          `json:"del,omitempty"`
}

// uiSent is what the streams were sent: the JSON of each part and of each
// row. Each call of next replaces its maps rather than changing them, so
// that a frame may keep the ones it was built from.
type uiSent struct {
	parts  map[string][]byte
	tables map[string]map[string][]byte
	rows   map[string][]json.RawMessage // each table's rows, in order
	seq    uint64                       // of the last timeline event sent
}

func newUISent() *uiSent {
	return &uiSent{parts: map[string][]byte{}, tables: map[string]map[string][]byte{}, rows: map[string][]json.RawMessage{}}
}

// events serves GET /ui/events until the client goes away, the server
// stops or the tree stops. Past the stream cap it answers 503 with a
// Retry-After. Every stream writes the frames of the hub: one snapshot per
// change, shared; a stream that fell more than uiMaxLag frames behind
// gets a reset instead of the updates it missed.
func (u *uiServer) events(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	if req.Method == http.MethodHead { // what a GET would get, without a stream
		if u.hub.full() {
			u.refuse(w)
			return
		}
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !u.hub.join() {
		u.refuse(w)
		return
	}
	defer u.hub.leave()
	rc := http.NewResponseController(w)
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	// The stream outlives the server's read and write timeouts: no read
	// deadline (net/http ends a request whose connection's read times
	// out), a write deadline per event.
	_ = rc.SetReadDeadline(time.Time{}) // not every writer has one (httptest's)
	_ = rc.SetWriteDeadline(time.Now().Add(uiWriteTimeout))
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", uiRetry.Milliseconds()); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return // cannot stream through this writer
	}
	ctx := req.Context()
	f, err := u.hub.first(ctx)
	if err != nil {
		return
	}
	send := func(event []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(uiWriteTimeout))
		if _, err := w.Write(event); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(f.resetEvent()); err != nil {
		return
	}
	for {
		select {
		case <-f.next:
		case <-ctx.Done():
			return
		case <-u.t.done:
			return
		}
		f = f.after
		event := f.update // nil when the chain started over
		if latest := u.hub.latest(); latest != nil && latest.seq-f.seq > uiMaxLag {
			f, event = latest, nil
		}
		if event == nil {
			event = f.resetEvent()
		}
		if err := send(event); err != nil {
			return
		}
	}
}

// refuse answers a stream past the cap.
func (u *uiServer) refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(uiStreamRetry.Seconds())))
	writeJSON(w, http.StatusServiceUnavailable, AdminError{Error: fmt.Sprintf(
		"the observer serves at most %d event streams at once: retry later", u.hub.max)})
}

// encodeEvent returns one server-sent event (JSON has no raw newline).
func encodeEvent(name string, data any) ([]byte, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", name, b), nil
}

// next returns what changed since the last call, nil when nothing did.
func (s *uiSent) next(st *uiState, tl *uiTimeline, at time.Time, reset bool) (*UIUpdate, error) {
	up := &UIUpdate{Time: at.Format(adminTime), Reset: reset, Tables: map[string]*UITableDiff{}}
	changed := reset
	var errs []error
	s.parts, s.tables, s.rows = maps.Clone(s.parts), maps.Clone(s.tables), maps.Clone(s.rows)
	part := func(name string, v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if !reset && bytes.Equal(b, s.parts[name]) {
			return nil
		}
		s.parts[name], changed = b, true
		return b
	}
	up.Status = part("status", st.status)
	up.Tree = part("tree", st.tree)
	up.Confirms = part("confirms", st.confirms)
	up.Calls = part("calls", st.calls)
	table := func(name string, keys []string, rows func(i int) any) {
		d, err := s.diff(name, keys, rows, reset)
		if err != nil {
			errs = append(errs, err)
		}
		if d != nil {
			up.Tables[name], changed = d, true
		}
	}
	table("connections", keysOf(st.connections, func(c UIConnection) string { return c.ID }),
		func(i int) any { return st.connections[i] })
	table("channels", keysOf(st.channels, channelKey), func(i int) any { return st.channels[i] })
	table("listeners", keysOf(st.listeners, func(l UIListener) string { return l.Path }),
		func(i int) any { return st.listeners[i] })
	table("publishers", keysOf(st.publishers, func(p UIPublisher) string { return p.ID }),
		func(i int) any { return st.publishers[i] })
	table("workers", keysOf(st.workers, func(w UIWorker) string { return w.Path }),
		func(i int) any { return st.workers[i] })
	table("nodes", keysOf(st.nodes, func(n registry.Node) string { return n.Name }),
		func(i int) any { return st.nodes[i] })
	seq := s.seq
	if reset {
		seq = 0
	}
	up.Timeline, s.seq = tl.since(seq)
	changed = changed || len(up.Timeline) > 0
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if !changed {
		return nil, nil
	}
	return up, nil
}

// diff compares a table's rows with those sent; rows(i) is the row of
// keys[i]. Each row is sent as its JSON object with "key" added.
func (s *uiSent) diff(name string, keys []string, rows func(i int) any, reset bool) (*UITableDiff, error) {
	old := s.tables[name]
	if reset {
		old = nil
	}
	now := make(map[string][]byte, len(keys))
	ordered := make([]json.RawMessage, 0, len(keys))
	d := &UITableDiff{}
	for i, key := range keys {
		b, err := json.Marshal(rows(i))
		if err != nil {
			return nil, err
		}
		k, _ := json.Marshal(key)
		b = append(append(append([]byte(`{"key":`), k...), ','), b[1:]...) // rows are non-empty objects
		now[key] = b
		ordered = append(ordered, b)
		if prev, ok := old[key]; !ok || !bytes.Equal(prev, b) {
			d.Set = append(d.Set, b)
		}
	}
	for key := range old {
		if _, ok := now[key]; !ok {
			d.Del = append(d.Del, key)
		}
	}
	sort.Strings(d.Del)
	s.tables[name], s.rows[name] = now, ordered
	if !reset && len(d.Set) == 0 && len(d.Del) == 0 {
		return nil, nil
	}
	return d, nil
}

func keysOf[T any](rows []T, key func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = key(r)
	}
	return out
}

// channelKey is an assignments row's key: its consumer, or the channel of a
// prechannel.
func channelKey(c AdminChannel) string {
	if c.Consumer != "" {
		return c.Consumer
	}
	return c.ID
}
