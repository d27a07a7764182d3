package kazoo

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		name    string
		given   string
		want    string // the steps, rendered by renderSteps
		wantErr string // substring of the error, with the position
	}{
		{name: "kamailio docs example", given: "Channels[0].switch_url", want: "Channels [0] switch_url"},
		{name: "single key", given: "Event-Category", want: "Event-Category"},
		{name: "nested keys", given: "a.b.c", want: "a b c"},
		{name: "chained indexes", given: "a[0][1].b", want: "a [0] [1] b"},
		{name: "leading index", given: "[2].name", want: "[2] name"},
		{name: "only an index", given: "[0]", want: "[0]"},
		{name: "leading zeros", given: "a[007]", want: "a [7]"},
		{name: "key with odd bytes", given: "a%b:c d", want: "a%b:c d"},
		{name: "empty path", given: "", wantErr: "at byte 0: empty path"},
		{name: "lone dot", given: ".", wantErr: "at byte 0: empty key"},
		{name: "leading dot", given: ".a", wantErr: "at byte 0: empty key"},
		{name: "trailing dot", given: "a.", wantErr: "at byte 2: empty key"},
		{name: "double dot", given: "a..b", wantErr: "at byte 2: empty key"},
		{name: "unterminated index", given: "a[", wantErr: "at byte 1: '[' without ']'"},
		{name: "unterminated number", given: "a[12", wantErr: "at byte 1: '[' without ']'"},
		{name: "letter index", given: "a[x]", wantErr: "at byte 2: array index must be decimal digits"},
		{name: "negative index", given: "a[-1]", wantErr: "at byte 2: array index must be decimal digits"},
		{name: "empty index", given: "a[]", wantErr: "at byte 2: empty array index"},
		{name: "huge index", given: "a[99999999999999999999]", wantErr: "at byte 2: array index out of range"},
		{name: "stray bracket", given: "a]", wantErr: "at byte 1: ']' without '['"},
		{name: "double close", given: "a[0]]", wantErr: "at byte 4: ']' without '['"},
		{name: "text after index", given: "a[0]b", wantErr: "at byte 4: want '.' or '[' after ']'"},
		{name: "index after dot", given: "a.[0]", wantErr: "at byte 2: empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePath(tt.given)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadPath) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePath(%q) error = %v, want ErrBadPath with %q", tt.given, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.given, err)
			}
			if got := renderSteps(p); got != tt.want {
				t.Errorf("ParsePath(%q) steps = %q, want %q", tt.given, got, tt.want)
			}
			if p.String() != tt.given {
				t.Errorf("String() = %q, want %q", p.String(), tt.given)
			}
		})
	}
}

func renderSteps(p Path) string {
	parts := make([]string, len(p.steps))
	for i, st := range p.steps {
		if st.isIdx {
			parts[i] = "[" + strconv.Itoa(st.idx) + "]"
		} else {
			parts[i] = st.key
		}
	}
	return strings.Join(parts, " ")
}

const channelsReply = `{"Event-Category":"call_event","Event-Name":"query_user_channels_resp","Msg-ID":"m1",
 "Channels":[{"switch_url":"sip:mod_sofia@10.0.0.7:11000","answered":true,"duration":42,"dup":{"a":[[1,2],[3,{"deep":"yes"}]]},"nothing":null}],
 "Empty":[]}`

func TestGet(t *testing.T) {
	doc, err := Parse([]byte(channelsReply))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		given  string
		want   any
		wantOK bool
	}{
		{name: "kamailio docs example", given: "Channels[0].switch_url", want: "sip:mod_sofia@10.0.0.7:11000", wantOK: true},
		{name: "dashed top-level key", given: "Event-Category", want: "call_event", wantOK: true},
		{name: "number", given: "Channels[0].duration", want: json.Number("42"), wantOK: true},
		{name: "chained indexes", given: "Channels[0].dup.a[1][1].deep", want: "yes", wantOK: true},
		{name: "present null", given: "Channels[0].nothing", want: nil, wantOK: true},
		{name: "index out of range", given: "Channels[1].switch_url"},
		{name: "index into an empty array", given: "Empty[0]"},
		{name: "index into an object", given: "Channels[0].dup[0]"},
		{name: "key into an array", given: "Channels.switch_url"},
		{name: "key into a string", given: "Msg-ID.x"},
		{name: "absent key", given: "Nope"},
		{name: "malformed path", given: "Channels["},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Get(doc, tt.given)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("Get(%q) = %#v, %v; want %#v, %v", tt.given, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestGet_OnPlainValues(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`[{"a":{"b":["x"]}}]`), &doc); err != nil {
		t.Fatal(err)
	}
	if got, ok := Get(doc, "[0].a.b[0]"); !ok || got != "x" {
		t.Errorf(`Get([0].a.b[0]) = %v, %v; want "x", true`, got, ok)
	}
	if got, ok := (Path{}).Get(doc); !ok || got == nil {
		t.Error("the zero Path should return the document itself")
	}
}

func TestGetString(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		path    string
		want    string
		wantOK  bool
		wantErr error
	}{
		{name: "string", body: channelsReply, path: "Channels[0].switch_url", want: "sip:mod_sofia@10.0.0.7:11000", wantOK: true},
		{name: "boolean", body: channelsReply, path: "Channels[0].answered", want: "true", wantOK: true},
		{name: "number keeps its text", body: `{"n":1.50}`, path: "n", want: "1.50", wantOK: true},
		{name: "object as compact json", body: `{"o": {"a": [1, 2]}}`, path: "o", want: `{"a":[1,2]}`, wantOK: true},
		{name: "null is $null", body: channelsReply, path: "Channels[0].nothing"},
		{name: "absent is $null", body: channelsReply, path: "Channels[3]"},
		{name: "top-level array", body: `["a","b"]`, path: "[1]", want: "b", wantOK: true},
		{name: "malformed path", body: channelsReply, path: "a[x]", wantErr: ErrBadPath},
		{name: "malformed body", body: `{"a":`, path: "a", wantErr: ErrMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := GetString([]byte(tt.body), tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("GetString error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("GetString(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMustParsePath_PanicsOnBadPath(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("MustParsePath(\"a[\") did not panic")
		}
	}()
	MustParsePath("a[")
}
