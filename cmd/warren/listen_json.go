package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
)

// deliveryJSON is one line of `warren listen --json`. Every delivery gets
// one: what JSON cannot hold as it is (a timestamp past year 9999, a NaN,
// a binary body) is rendered another way and said so in Notes.
type deliveryJSON struct {
	Zone       string         `json:"zone"`   // of the broker it came from: another than the local one through --federate
	Broker     string         `json:"broker"` // its id, host:port[@vhost]
	Exchange   string         `json:"exchange"`
	RoutingKey string         `json:"routing_key"`
	Headers    map[string]any `json:"headers"`
	// Body is the body itself when it is JSON (valid UTF-8), a string when
	// it is other UTF-8 text, base64 otherwise; BodyEncoding says which:
	// "json", "text" or "base64".
	Body         any       `json:"body"`
	BodyEncoding string    `json:"body_encoding"`
	Reply        *answered `json:"reply,omitempty"` // what --reply answered
	Notes        []string  `json:"notes,omitempty"`
	TraceID      string    `json:"trace_id,omitempty"` // of its traceparent header (W3C trace context)
}

// deliveryLine renders d as one JSON line (no newline), with the reply
// --reply sent to it (nil: none). It cannot fail: a value json.Marshal
// refuses is rendered in a form it takes, with a note.
func deliveryLine(d *listener.Delivery, reply *answered) []byte {
	line := deliveryJSON{Zone: d.Zone, Broker: d.Broker, Exchange: d.Exchange, RoutingKey: d.RoutingKey, Headers: map[string]any{}, Reply: reply, TraceID: d.TraceID()}
	r := &jsonRender{}
	for k, v := range d.Headers {
		line.Headers[k] = r.value("headers."+k, v)
	}
	switch {
	case utf8.Valid(d.Body) && json.Valid(d.Body):
		line.Body, line.BodyEncoding = json.RawMessage(d.Body), "json"
	case utf8.Valid(d.Body):
		line.Body, line.BodyEncoding = string(d.Body), "text"
	default:
		line.Body, line.BodyEncoding = base64.StdEncoding.EncodeToString(d.Body), "base64"
		r.note("body: not UTF-8 text: base64 (%d bytes)", len(d.Body))
	}
	sort.Strings(r.notes) // headers come from a map
	line.Notes = r.notes
	b, err := json.Marshal(line)
	if err != nil { // not expected: every value was made JSON-safe
		b, _ = json.Marshal(deliveryJSON{Zone: d.Zone, Broker: d.Broker, Exchange: d.Exchange, RoutingKey: d.RoutingKey, Headers: map[string]any{},
			Body: base64.StdEncoding.EncodeToString(d.Body), BodyEncoding: "base64",
			Notes: []string{"the delivery could not be rendered: " + err.Error()}})
	}
	return b
}

// jsonRender makes AMQP field values JSON-safe, collecting notes.
type jsonRender struct{ notes []string }

func (r *jsonRender) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// value returns v as json.Marshal takes it: tables and arrays walked,
// timestamps outside RFC 3339's years (0 to 9999) as Unix seconds, NaN and
// infinities as strings, byte arrays as base64 (json.Marshal's own way),
// each but the last with a note naming path.
func (r *jsonRender) value(path string, v any) any {
	switch x := v.(type) {
	case amqp.Table:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = r.value(path+"."+k, e)
		}
		return m
	case map[string]any:
		return r.value(path, amqp.Table(x))
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = r.value(fmt.Sprintf("%s[%d]", path, i), e)
		}
		return a
	case time.Time:
		if y := x.Year(); y < 0 || y > 9999 {
			r.note("%s: timestamp outside JSON's range (year %d): Unix seconds", path, y)
			return x.Unix()
		}
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			r.note("%s: %v is no JSON number: a string", path, x)
			return fmt.Sprint(x)
		}
	case float32:
		return r.value(path, float64(x))
	}
	return v
}
