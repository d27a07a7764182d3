package listener

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// Handler handles one delivery. Under the AckAfterHandler policy, returning
// an error runs it again (Spec.Retry), then dead-letters, requeues or
// discards the delivery (Spec.OnError); an error while the listener stops
// (ctx cancelled) requeues it.
type Handler func(ctx context.Context, d *Delivery) error

// Wildcard matches any event category or name in a Route.
const Wildcard = "*"

// Route sends the JSON events of Category and Name to Handler (Kazoo's
// responder). Wildcard ("*", or empty) matches any value: {Cat, "*"} every
// event of Cat, {"*", Name} every event named Name whatever its category,
// {"*", "*"} every event. Values compare as Kamailio compares event
// routes: case-insensitively, with '_' and '-' the same.
type Route struct {
	Category string
	Name     string
	Handler  Handler
}

func (r Route) String() string {
	return routeKey(r.Category) + "." + routeKey(r.Name)
}

// Is reports whether r is the route of category and name, compared as
// RemoveRoute compares them: case, '_' and '-' aside, "*" and "" the same.
func (r Route) Is(category, name string) bool {
	return eventToken(r.Category) == eventToken(category) && eventToken(r.Name) == eventToken(name)
}

// routeKey is a route's category or name as shown: "*" for a wildcard.
func routeKey(s string) string {
	if s == "" {
		return Wildcard
	}
	return s
}

// DispatchMode says which of the routes matching an event run.
type DispatchMode int

const (
	// DispatchAll runs every route whose key matches the event, each on a
	// goroutine of its own, and settles the delivery once all returned:
	// acked if all succeeded, else under Spec.Retry and Spec.OnError,
	// once (Kazoo's gen_listener). The default.
	DispatchAll DispatchMode = iota
	// DispatchOne runs only the most specific route: {Cat, Name}, then
	// {"*", Name}, then {Cat, "*"}, then {"*", "*"}; of several routes
	// with one key, the first added (Kamailio's event_route lookup).
	DispatchOne
)

func (m DispatchMode) String() string {
	if m == DispatchOne {
		return "one"
	}
	return "all"
}

// target is one handler a delivery runs, with the name its errors carry.
type target struct {
	name string // the route ("cat.name"), "raw" or "handle_event"
	h    Handler
}

// routeTable is a listener's routes: an immutable value, replaced whole by
// the listener actor when a route is added or removed at run time and
// loaded once per delivery (like channelState), so dispatch takes no lock.
type routeTable struct {
	routes   []Route             // in the order added
	exact    map[string][]target // "cat\x00name"
	category map[string][]target // {Cat, "*"}
	name     map[string][]target // {"*", Name}
	any      []target            // {"*", "*"}
}

func newRouteTable(rs []Route) *routeTable {
	t := &routeTable{routes: rs}
	for _, r := range rs {
		cat, name := eventToken(r.Category), eventToken(r.Name)
		tg := target{name: r.String(), h: r.Handler}
		switch {
		case cat == "" && name == "":
			t.any = append(t.any, tg)
		case name == "":
			addTarget(&t.category, cat, tg)
		case cat == "":
			addTarget(&t.name, name, tg)
		default:
			addTarget(&t.exact, cat+"\x00"+name, tg)
		}
	}
	return t
}

// addTarget appends tg to m's targets under key, making m on first use: a
// listener of one catch-all route, the common case, holds no map.
func addTarget(m *map[string][]target, key string, tg target) {
	if *m == nil {
		*m = map[string][]target{}
	}
	(*m)[key] = append((*m)[key], tg)
}

// with is t with r added last.
func (t *routeTable) with(r Route) *routeTable {
	return newRouteTable(append(append([]Route(nil), t.routes...), r))
}

// without is t without the routes of category and name; false when it has
// none.
func (t *routeTable) without(category, name string) (*routeTable, bool) {
	var keep []Route
	for _, r := range t.routes {
		if !r.Is(category, name) {
			keep = append(keep, r)
		}
	}
	if len(keep) == len(t.routes) {
		return t, false
	}
	return newRouteTable(keep), true
}

// match returns the targets of an event under mode, then extra (the
// HandleEvent hook); nil when no route matches (extra aside).
func (t *routeTable) match(tc *tokens, category, name string, mode DispatchMode, extra []target) []target {
	cat := tc.token(category)
	nm := tc.token(name)
	levels := [4][]target{t.exact[cat+"\x00"+nm], t.name[nm], t.category[cat], t.any}
	if mode == DispatchOne {
		for _, l := range levels {
			if len(l) > 0 {
				if len(extra) == 0 {
					return l[:1]
				}
				return append([]target{l[0]}, extra...)
			}
		}
		return extra
	}
	n, last := 0, -1
	for i, l := range levels {
		if len(l) > 0 {
			n += len(l)
			last = i
		}
	}
	if n == len(levels[max(last, 0)]) && len(extra) == 0 {
		return levels[max(last, 0)] // one level matched: no copy
	}
	out := make([]target, 0, n+len(extra))
	for _, l := range levels {
		out = append(out, l...)
	}
	return append(out, extra...)
}

// tokens remembers eventToken of the event values a listener sees: it runs
// twice per delivery, and a listener sees few distinct values. Shared by
// every instance of a listener; safe for concurrent use.
type tokens struct {
	m      sync.Map     // event value -> its token
	cached atomic.Int64 // entries in m, capped at maxTokens
}

// maxTokens bounds the token cache against senders that make up event names.
const maxTokens = 1024

// eventToken is the form routes compare: lower case, '_' as '-', and the
// wildcard as "".
func eventToken(s string) string {
	if s == Wildcard {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(s), "_", "-")
}

// token is eventToken, remembered. An event's own "*" is a value like any
// other, never a wildcard.
func (tc *tokens) token(s string) string {
	if v, ok := tc.m.Load(s); ok {
		return v.(string)
	}
	tok := strings.ReplaceAll(strings.ToLower(s), "_", "-")
	if len(s) <= 64 && tc.cached.Add(1) <= maxTokens {
		tc.m.Store(s, tok)
	}
	return tok
}
