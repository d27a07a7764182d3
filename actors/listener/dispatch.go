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

// Route sends the JSON events of Category and Name to Handler. An empty
// Name matches every event of Category; empty Category and Name match every
// event (the catch-all). Values compare as Kamailio compares event routes:
// case-insensitively, with '_' and '-' the same.
type Route struct {
	Category string
	Name     string
	Handler  Handler
}

func (r Route) String() string {
	switch {
	case r.Category == "" && r.Name == "":
		return "*"
	case r.Name == "":
		return r.Category
	}
	return r.Category + "." + r.Name
}

// routes picks handlers from most to least specific: category+name, then
// category, then the catch-all (Kamailio's event_route lookup order).
type routes struct {
	exact    map[string]Handler // "cat\x00name"
	category map[string]Handler
	any      Handler
	tokens   *sync.Map     // event value -> its token: a listener sees few distinct values
	cached   *atomic.Int64 // entries in tokens, capped at maxTokens
}

// maxTokens bounds the token cache against senders that make up event names.
const maxTokens = 1024

func eventToken(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }

// token is eventToken, remembered: it runs for every delivery.
func (t routes) token(s string) string {
	if v, ok := t.tokens.Load(s); ok {
		return v.(string)
	}
	tok := eventToken(s)
	if len(s) <= 64 && t.cached.Add(1) <= maxTokens {
		t.tokens.Store(s, tok)
	}
	return tok
}

func newRoutes(rs []Route) routes {
	t := routes{exact: map[string]Handler{}, category: map[string]Handler{}, tokens: &sync.Map{}, cached: &atomic.Int64{}}
	for _, r := range rs {
		cat, name := eventToken(r.Category), eventToken(r.Name)
		switch {
		case cat == "" && name == "":
			t.any = r.Handler
		case name == "":
			t.category[cat] = r.Handler
		default:
			t.exact[cat+"\x00"+name] = r.Handler
		}
	}
	return t
}

// pick returns the handler of an event, or nil.
func (t routes) pick(category, name string) Handler {
	cat := t.token(category)
	if h, ok := t.exact[cat+"\x00"+t.token(name)]; ok {
		return h
	}
	if h, ok := t.category[cat]; ok {
		return h
	}
	return t.any
}
