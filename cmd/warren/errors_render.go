package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Widths of the truncated columns of the text listing; --json has it all.
const (
	errorPreview = 60 // runes of x-warren-error
	bodyPreview  = 40 // runes of the body
)

// errorEntry is one message of `warren errors --json`: the dead-letter
// headers read out, the message's properties, every header, and the body
// as JSON when it is JSON, else base64.
type errorEntry struct {
	Position           int        `json:"position"` // 1 is the head of the queue
	FailedAt           *time.Time `json:"failed_at,omitempty"`
	Listener           string     `json:"listener,omitempty"`
	Queue              string     `json:"queue,omitempty"` // the queue it was consumed from
	Broker             string     `json:"broker,omitempty"`
	OriginalExchange   *string    `json:"original_exchange"` // null: no header
	OriginalRoutingKey *string    `json:"original_routing_key"`
	Attempts           *int64     `json:"attempts,omitempty"`
	Error              string     `json:"error,omitempty"`
	Requeued           int64      `json:"requeued,omitempty"` // times sent back already

	MessageID       string          `json:"message_id,omitempty"`
	CorrelationID   string          `json:"correlation_id,omitempty"`
	ContentType     string          `json:"content_type,omitempty"`
	ContentEncoding string          `json:"content_encoding,omitempty"`
	DeliveryMode    uint8           `json:"delivery_mode,omitempty"`
	Priority        uint8           `json:"priority,omitempty"`
	ReplyTo         string          `json:"reply_to,omitempty"`
	Expiration      string          `json:"expiration,omitempty"`
	Timestamp       *time.Time      `json:"timestamp,omitempty"`
	Type            string          `json:"type,omitempty"`
	UserID          string          `json:"user_id,omitempty"`
	AppID           string          `json:"app_id,omitempty"`
	Exchange        string          `json:"exchange"`    // the one it reached the error queue through
	RoutingKey      string          `json:"routing_key"` // and its key
	Redelivered     bool            `json:"redelivered"`
	Headers         map[string]any  `json:"headers"`
	BodyBytes       int             `json:"body_bytes"`
	Body            json.RawMessage `json:"body,omitempty"`
	BodyBase64      string          `json:"body_base64,omitempty"`
}

// newErrorEntry reads d, the message at position.
func newErrorEntry(position int, d amqp.Delivery) errorEntry {
	e := errorEntry{
		Position: position, MessageID: d.MessageId, CorrelationID: d.CorrelationId, ContentType: d.ContentType,
		ContentEncoding: d.ContentEncoding, DeliveryMode: d.DeliveryMode, Priority: d.Priority, ReplyTo: d.ReplyTo,
		Expiration: d.Expiration, Type: d.Type, UserID: d.UserId, AppID: d.AppId, Exchange: d.Exchange,
		RoutingKey: d.RoutingKey, Redelivered: d.Redelivered, BodyBytes: len(d.Body),
	}
	if t, ok := headerTime(d.Headers, hdrFailedAt); ok {
		e.FailedAt = &t
	}
	e.Listener, _ = headerString(d.Headers, hdrListener)
	e.Queue, _ = headerString(d.Headers, hdrQueue)
	e.Broker, _ = headerString(d.Headers, hdrBroker)
	e.Error, _ = headerString(d.Headers, hdrError)
	if s, ok := headerString(d.Headers, hdrOriginalExchange); ok {
		e.OriginalExchange = &s
	}
	if s, ok := headerString(d.Headers, hdrOriginalKey); ok {
		e.OriginalRoutingKey = &s
	}
	if n, ok := headerInt(d.Headers, hdrAttempts); ok {
		e.Attempts = &n
	}
	e.Requeued, _ = headerInt(d.Headers, hdrRequeued)
	if !d.Timestamp.IsZero() {
		ts := d.Timestamp.UTC()
		e.Timestamp = &ts
	}
	e.Headers = jsonTable(d.Headers)
	if len(d.Body) > 0 && json.Valid(d.Body) {
		e.Body = json.RawMessage(d.Body)
	} else if len(d.Body) > 0 {
		e.BodyBase64 = base64.StdEncoding.EncodeToString(d.Body)
	}
	return e
}

// jsonTable makes an AMQP table JSON-ready: timestamps as RFC 3339, bytes
// as base64, decimals as numbers, NaN and infinities as strings (which
// encoding/json refuses), nested tables and arrays likewise.
func jsonTable(t amqp.Table) map[string]any {
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = jsonField(v)
	}
	return out
}

func jsonField(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		return jsonTable(v)
	case map[string]any:
		return jsonTable(amqp.Table(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonField(e)
		}
		return out
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case amqp.Decimal:
		return json.Number(strconv.FormatFloat(float64(v.Value)/math.Pow10(int(v.Scale)), 'f', -1, 64))
	case float32:
		return jsonFloat(float64(v))
	case float64:
		return jsonFloat(v)
	}
	return v
}

func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

// renderErrorList prints the messages of an error queue: a table, or with
// asJSON an array of errorEntry.
func renderErrorList(w io.Writer, msgs []amqp.Delivery, asJSON bool) error {
	if asJSON {
		entries := make([]errorEntry, 0, len(msgs))
		for i, d := range msgs {
			entries = append(entries, newErrorEntry(i+1, d))
		}
		return printJSONValue(w, entries)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "#\tFAILED_AT\tLISTENER\tEXCHANGE\tROUTING_KEY\tATTEMPTS\tMESSAGE_ID\tERROR\tBODY")
	for i, d := range msgs {
		e := newErrorEntry(i+1, d)
		failed, attempts := "-", "-"
		if e.FailedAt != nil {
			failed = e.FailedAt.Format(time.RFC3339)
		}
		if e.Attempts != nil {
			attempts = strconv.FormatInt(*e.Attempts, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Position, failed, cell(e.Listener),
			exchangeCell(e.OriginalExchange), cell(deref(e.OriginalRoutingKey)), attempts, cell(e.MessageID),
			cell(truncate(e.Error, errorPreview)), cell(truncate(printable(d.Body), bodyPreview)))
	}
	return tw.Flush()
}

// renderRequeue prints what --requeue did: a line per message and a
// total, or with asJSON an array of requeueResult.
func renderRequeue(w io.Writer, queue string, results []requeueResult, asJSON bool) error {
	if asJSON {
		if results == nil {
			results = []requeueResult{}
		}
		return printJSONValue(w, results)
	}
	var b strings.Builder
	sent := 0
	for _, r := range results {
		id := ""
		if r.MessageID != "" {
			id = " (id " + oneLine(r.MessageID) + ")"
		}
		if r.Requeued {
			sent++
			fmt.Fprintf(&b, "requeued #%d%s to exchange %s with key %s", r.Position, id, exchangeName(r.Exchange), strconv.Quote(r.RoutingKey))
			if r.Reason != "" {
				b.WriteString("; " + r.Reason)
			}
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(&b, "left     #%d%s in %s: %s\n", r.Position, id, queue, oneLine(r.Reason))
	}
	fmt.Fprintf(&b, "requeued %d of %s from %s", sent, plural(int64(len(results)), "message"), queue)
	if left := len(results) - sent; left > 0 {
		fmt.Fprintf(&b, "; %d left in it", left)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// exchangeCell shows a missing original exchange as "-" and the default
// exchange, "", by name.
func exchangeCell(ex *string) string {
	if ex == nil {
		return "-"
	}
	return exchangeName(*ex)
}

func exchangeName(ex string) string {
	if ex == "" {
		return "(default)"
	}
	return oneLine(ex)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// truncate cuts s to n runes, marking the cut with "…", on one line.
func truncate(s string, n int) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
