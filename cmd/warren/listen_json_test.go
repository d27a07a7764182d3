package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
)

// decodeLine parses one `listen --json` line, failing the test when it is
// not a single JSON object.
func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	if bytes.ContainsAny(line, "\n") {
		t.Fatalf("line spans lines: %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("line %q is not JSON: %v", line, err)
	}
	return m
}

// A header timestamp past year 9999 (json.Marshal of time.Time fails on
// it) no longer drops the delivery: it is printed, the timestamp in Unix
// seconds with a note, the timestamps in range as RFC 3339.
func TestListenJSON_TimestampPastYear9999IsPrinted(t *testing.T) {
	far := time.Date(12000, 1, 2, 3, 4, 5, 0, time.UTC)
	near := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	d := &listener.Delivery{Exchange: "x", RoutingKey: "k", Body: []byte(`{"a":1}`),
		Headers: amqp.Table{"far": far, "near": near, "nested": amqp.Table{"deep": []any{far}}, "nan": math.NaN()}}
	m := decodeLine(t, deliveryLine(d, nil))
	h := m["headers"].(map[string]any)
	if h["far"] != float64(far.Unix()) {
		t.Errorf("far = %v, want %d (Unix seconds)", h["far"], far.Unix())
	}
	if h["near"] != near.Format(time.RFC3339) {
		t.Errorf("near = %v, want %s", h["near"], near.Format(time.RFC3339))
	}
	if deep := h["nested"].(map[string]any)["deep"].([]any); deep[0] != float64(far.Unix()) {
		t.Errorf("nested.deep = %v", deep)
	}
	if h["nan"] != "NaN" {
		t.Errorf("nan = %v, want \"NaN\"", h["nan"])
	}
	notes, _ := json.Marshal(m["notes"])
	for _, want := range []string{"headers.far: timestamp outside JSON's range (year 12000)", "headers.nested.deep[0]: timestamp", "headers.nan: NaN"} {
		if !strings.Contains(string(notes), want) {
			t.Errorf("notes %s lack %q", notes, want)
		}
	}
}

// A binary body is printed as base64, byte for byte, and said so; JSON is
// embedded as JSON; other text stays a string.
func TestListenJSON_BodiesKeptByteForByte(t *testing.T) {
	bin := []byte{0x00, 0x01, 0xff, 0xfe, 'b', 'i', 'n', 0x80}
	m := decodeLine(t, deliveryLine(&listener.Delivery{Body: bin}, nil))
	if m["body_encoding"] != "base64" {
		t.Fatalf("binary body: %v", m)
	}
	if got, err := base64.StdEncoding.DecodeString(m["body"].(string)); err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("binary body decodes to %q (%v), want %q", got, err, bin)
	}

	m = decodeLine(t, deliveryLine(&listener.Delivery{Body: []byte("{\n  \"Event-Category\": \"x\",\n  \"n\": [1, 2]\n}")}, nil))
	if body, ok := m["body"].(map[string]any); !ok || m["body_encoding"] != "json" || body["Event-Category"] != "x" {
		t.Fatalf("JSON body: %v", m)
	}

	m = decodeLine(t, deliveryLine(&listener.Delivery{Body: []byte(`{"Event-Category": "broken",`)}, nil))
	if m["body"] != `{"Event-Category": "broken",` || m["body_encoding"] != "text" {
		t.Fatalf("text body: %v", m)
	}
	// JSON whose strings hold invalid UTF-8 is not embedded (it would
	// make the line invalid UTF-8): base64.
	m = decodeLine(t, deliveryLine(&listener.Delivery{Body: []byte("{\"a\":\"\xff\"}")}, nil))
	if m["body_encoding"] != "base64" {
		t.Fatalf("JSON with invalid UTF-8: %v", m)
	}
}
