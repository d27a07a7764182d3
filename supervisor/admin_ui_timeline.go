package supervisor

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/warrenmq/warren/internal/redact"
)

// uiTimelineSize bounds the observer's timeline: the last state changes kept.
const uiTimelineSize = 200

// uiTimelineGroup is how many rows of one kind may make the same change in
// one snapshot before the timeline shows them as one event.
const uiTimelineGroup = 10

// UIEvent is one state change on the observer's timeline.
type UIEvent struct {
	Seq    uint64 `json:"seq"`              // increases by one per event
	Time   string `json:"time"`             // RFC 3339, when the observer saw it
	Kind   string `json:"kind"`             // connection, listener, actor, publisher or worker
	ID     string `json:"id"`               // its id or actor path
	From   string `json:"from"`             // "" when it appeared
	To     string `json:"to"`               // "gone" when it left its table; "restarted" for an actor's restart
	Detail string `json:"detail,omitempty"` // the last error, or the restart count; credentials masked
}

// uiItem is the state of one row the timeline follows.
type uiItem struct {
	kind, id, state, detail string
	restarts                int
}

// uiTimeline keeps the last uiTimelineSize state changes, found by
// comparing successive snapshots with the states it saw last. Observing the
// same snapshot twice records nothing, so every stream and the recorder of
// ServeAdmin may feed it. It is safe for concurrent use.
type uiTimeline struct {
	mu     sync.Mutex        // guards the fields below
	at     time.Time         // when the snapshot observed last was read
	seq    uint64            // of the last event
	events []UIEvent         // oldest first, at most uiTimelineSize
	known  map[string]uiItem // kind+id -> state seen last; nil until the first snapshot
}

// observe records the changes between the states it knew and items. The
// first snapshot is the baseline: it records nothing. More than
// uiTimelineGroup rows of one kind making the same change at once (a
// broker's 1,000 listeners reconnecting) are one event, so that they do not
// push everything else out of the ring. now is when the snapshot's reading
// began: a snapshot older than the last one observed (a stream that read
// before another and observes after it) is ignored, else its older states
// would come back as changes; its stream reads again at the next change.
func (tl *uiTimeline) observe(items []uiItem, now time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if now.Before(tl.at) {
		return
	}
	tl.at = now
	next := make(map[string]uiItem, len(items))
	at := now.Format(adminTime)
	var changes []UIEvent
	for _, it := range items {
		key := it.kind + "\x00" + it.id
		next[key] = it
		if tl.known == nil {
			continue
		}
		old, seen := tl.known[key]
		switch {
		case !seen:
			changes = append(changes, UIEvent{Time: at, Kind: it.kind, ID: it.id, To: it.state, Detail: it.detail})
		case old.state != it.state:
			changes = append(changes, UIEvent{Time: at, Kind: it.kind, ID: it.id, From: old.state, To: it.state, Detail: it.detail})
		}
		if seen && it.restarts > old.restarts {
			changes = append(changes, UIEvent{Time: at, Kind: it.kind, ID: it.id, From: it.state, To: "restarted",
				Detail: "restart " + strconv.Itoa(it.restarts)})
		}
	}
	var gone []string
	for key := range tl.known {
		if _, ok := next[key]; !ok {
			gone = append(gone, key)
		}
	}
	slices.Sort(gone)
	for _, key := range gone {
		old := tl.known[key]
		changes = append(changes, UIEvent{Time: at, Kind: old.kind, ID: old.id, From: old.state, To: "gone"})
	}
	tl.known = next
	type change struct{ kind, from, to string }
	count := map[change]int{}
	for _, e := range changes {
		count[change{e.Kind, e.From, e.To}]++
	}
	grouped := map[change]bool{}
	for _, e := range changes {
		c := change{e.Kind, e.From, e.To}
		if n := count[c]; n > uiTimelineGroup {
			if !grouped[c] {
				grouped[c] = true
				tl.add(UIEvent{Time: at, Kind: e.Kind, ID: strconv.Itoa(n) + " " + e.Kind + "s", From: e.From, To: e.To,
					Detail: "first: " + e.ID})
			}
			continue
		}
		tl.add(e)
	}
}

// add appends e; tl.mu held on entry.
func (tl *uiTimeline) add(e UIEvent) {
	tl.seq++
	e.Seq = tl.seq
	e.Detail = redact.Text(e.Detail) // a last line of defence: the rows are redacted already
	if len(tl.events) == uiTimelineSize {
		copy(tl.events, tl.events[1:])
		tl.events = tl.events[:uiTimelineSize-1]
	}
	tl.events = append(tl.events, e)
}

// since returns the events after seq, oldest first, and the last seq.
func (tl *uiTimeline) since(seq uint64) ([]UIEvent, uint64) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []UIEvent
	for _, e := range tl.events {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, tl.seq
}

// upTo returns the events up to seq, oldest first.
func (tl *uiTimeline) upTo(seq uint64) []UIEvent {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []UIEvent
	for _, e := range tl.events {
		if e.Seq <= seq {
			out = append(out, e)
		}
	}
	return out
}
