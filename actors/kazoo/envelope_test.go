package kazoo

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		given   string
		want    map[string]any // checked key by key
		wantErr error
		errHas  string
	}{
		{name: "minimal object", given: `{}`, want: map[string]any{}},
		{name: "headers and payload", given: `{"Event-Category":"directory","Auth-Realm":"example.com"}`,
			want: map[string]any{"Event-Category": "directory", "Auth-Realm": "example.com"}},
		{name: "numbers stay json.Number", given: `{"Expires":3600,"Big":12345678901234567890,"F":1.50}`,
			want: map[string]any{"Expires": json.Number("3600"), "Big": json.Number("12345678901234567890"), "F": json.Number("1.50")}},
		{name: "surrounding whitespace is fine", given: " \n{\"a\":true}\n ", want: map[string]any{"a": true}},
		{name: "empty body", given: ``, wantErr: ErrMalformedJSON, errHas: "empty body"},
		{name: "blank body", given: "  \n", wantErr: ErrMalformedJSON, errHas: "empty body"},
		{name: "truncated object", given: `{"a":`, wantErr: ErrMalformedJSON, errHas: "at byte 5"},
		{name: "bad token", given: `{"a":tru}`, wantErr: ErrMalformedJSON, errHas: "at byte 8"},
		{name: "single quotes as in kamailio scripts", given: `{'a':1}`, wantErr: ErrMalformedJSON, errHas: "at byte 1"},
		{name: "trailing data", given: `{"a":1} {"b":2}`, wantErr: ErrMalformedJSON, errHas: "at byte 8"},
		{name: "trailing garbage", given: `{"a":1}x`, wantErr: ErrMalformedJSON, errHas: "at byte 7"},
		{name: "array", given: `[1,2]`, wantErr: ErrNotObject, errHas: "an array"},
		{name: "string", given: `"x"`, wantErr: ErrNotObject, errHas: "a string"},
		{name: "number", given: `42`, wantErr: ErrNotObject, errHas: "a number"},
		{name: "null", given: `null`, wantErr: ErrNotObject, errHas: "null"},
		{name: "boolean", given: `false`, wantErr: ErrNotObject, errHas: "a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.given))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Parse(%q) error = %v, want %v mentioning %q", tt.given, err, tt.wantErr, tt.errHas)
				}
				if got != nil {
					t.Errorf("Parse(%q) returned %v with its error", tt.given, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.given, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.given, got, tt.want)
			}
			for k, w := range tt.want {
				if got[k] != w {
					t.Errorf("%s = %#v, want %#v", k, got[k], w)
				}
			}
		})
	}
}

func TestEnvelope_RoundTripKeepsUnknownKeysAndNumbers(t *testing.T) {
	in := `{"AMQP-Broker-Zone":"local","App-Name":"kamailio","Big":12345678901234567890,` +
		`"Channels":[{"switch_url":"sip:fs1@10.0.0.1:5060","x":[1,2.50,null]}],"Contact":"<sip:1000@10.0.0.9>",` +
		`"Custom":{"Nested":{"Deep":true}},"Event-Name":"reg_success","Expires":3600,"Unicode":"é漢"}`
	e, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Fatalf("round trip changed the body:\n got %s\nwant %s", out, in)
	}
}

func TestEnvelope_MarshalRejectsUnsupportedValues(t *testing.T) {
	_, err := Envelope{"f": func() {}}.Marshal()
	if err == nil || !strings.HasPrefix(err.Error(), "warren: kazoo: marshal envelope") {
		t.Fatalf("Marshal of a func = %v, want a warren: kazoo: marshal envelope error", err)
	}
}

// Parse's decoders are pooled: whatever body one decoded before (a number
// that needed the end of input to end, trailing whitespace, malformed
// JSON, a body of another size), the next decode on it gives what a fresh
// decoder gives, also from several goroutines at once.
func TestParse_PooledDecodersCarryNothingOver(t *testing.T) {
	bodies := []string{`{"a":1}`, `42`, " {\"b\":\"x\"} \n", `{"a":`, `{"c":[1,2,{"d":null}]}`, `"s"`, `{"a":1}x`,
		`[true]`, `{"e":1.50}`, ``, `{}`, strings.Repeat(" ", 700) + `{"long":"` + strings.Repeat("y", 3000) + `"}`}
	fresh := func(body string) (any, string) {
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(err, []byte(body)).Error()
		}
		if rest := strings.TrimLeft(body[dec.InputOffset():], " \t\r\n"); rest != "" {
			return nil, "trailing"
		}
		return v, ""
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				body := bodies[(i*(g+1)+g)%len(bodies)]
				got, err := decodeJSON([]byte(body))
				want, wantErr := fresh(body)
				switch {
				case wantErr == "trailing":
					if err == nil || !strings.Contains(err.Error(), "data after the end") {
						t.Errorf("%.40q: err %v, want data after the end", body, err)
					}
				case wantErr != "":
					if err == nil || err.Error() != wantErr {
						t.Errorf("%.40q: err %v, want %s", body, err, wantErr)
					}
				case err != nil || !reflect.DeepEqual(got, want):
					t.Errorf("%.40q: %#v, %v; want %#v", body, got, err, want)
				}
			}
		}()
	}
	wg.Wait()
}
