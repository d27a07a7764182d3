package kazoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Envelope is a Kazoo API message: one JSON object whose envelope headers (App-Name, Msg-ID,
// Server-ID, …) sit beside the payload keys.
//
// Values are what [Parse] produces: map[string]any for objects, []any for arrays, string, bool,
// nil, and json.Number for numbers, so that numbers keep their exact text on a round trip. Keys
// Warren does not know survive Parse and Marshal unchanged.
//
// An Envelope is a map: the zero value is nil and cannot be set; use [Parse], [API.Build] or a
// literal. It is not safe for concurrent use when any goroutine writes; [Envelope.Clone] it to
// hand a copy to another goroutine.
type Envelope map[string]any

// Parse decodes a message body. A body that is not valid JSON gives an error wrapping
// [ErrMalformedJSON] that says at which byte; valid JSON that is not an object gives one
// wrapping [ErrNotObject]. Numbers are kept as json.Number.
//
// As with encoding/json, a duplicated key keeps its last value and invalid UTF-8 inside a string
// is replaced by U+FFFD.
func Parse(body []byte) (Envelope, error) {
	v, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: got %s", ErrNotObject, jsonKind(v))
	}
	return Envelope(m), nil
}

// decodeJSON decodes exactly one JSON value of any kind, keeping numbers as json.Number.
func decodeJSON(body []byte) (any, error) {
	d := decoders.Get().(*decoder)
	d.r.Reset(body)
	start := d.dec.InputOffset()
	var v any
	if err := d.dec.Decode(&v); err != nil {
		return nil, malformed(err, body) // the decoder keeps its error: not reused
	}
	end := int(d.dec.InputOffset() - start)
	if rest := bytes.TrimLeft(body[end:], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%w at byte %d: data after the end of the JSON value", ErrMalformedJSON, len(body)-len(rest))
	}
	if end == len(body) && d.r.Len() == 0 && len(body) <= maxPooledBody {
		decoders.Put(d) // it read this body to its last byte and holds nothing of it: clean for the next
	}
	return v, nil
}

// maxPooledBody is the largest body whose decoder goes back to the pool:
// its read buffer grew to the body's size, and a pool should not keep a
// rare large one alive.
const maxPooledBody = 64 << 10

// decoder is a json.Decoder (UseNumber) reading a resettable body: kept in
// a pool, its read buffer is allocated once instead of per message.
type decoder struct {
	r   bytes.Reader
	dec *json.Decoder
}

var decoders = sync.Pool{New: func() any {
	d := &decoder{}
	d.dec = json.NewDecoder(&d.r)
	d.dec.UseNumber()
	return d
}}

// malformed turns an encoding/json decode error into one wrapping ErrMalformedJSON with a position.
func malformed(err error, body []byte) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read up to and including the bad one; report its 0-based index.
		return fmt.Errorf("%w at byte %d: %s", ErrMalformedJSON, max(syn.Offset-1, 0), syn.Error())
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(body)) == 0:
		return fmt.Errorf("%w: empty body", ErrMalformedJSON)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w at byte %d: unexpected end of input", ErrMalformedJSON, len(body))
	default:
		return fmt.Errorf("%w: %s", ErrMalformedJSON, err.Error())
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// Marshal encodes the envelope as compact JSON with keys in sorted order, json.Number values
// written verbatim and no HTML escaping (SIP URIs such as "<sip:1000@example.com>" keep their
// angle brackets).
func (e Envelope) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(e)); err != nil {
		return nil, fmt.Errorf("warren: kazoo: marshal envelope: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
