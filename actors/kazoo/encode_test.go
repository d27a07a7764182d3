package kazoo

import (
	"errors"
	"strings"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		given string
		want  string
	}{
		// Vectors from kz_amqp_util's eunit tests.
		{name: "hash passes through", given: "#", want: "#"},
		{name: "star passes through", given: "*", want: "*"},
		{name: "empty passes through", given: "", want: ""},
		{name: "safe word is unchanged", given: "key", want: "key"},
		{name: "dot is escaped", given: "routing.key", want: "routing%2Ekey"},
		{name: "every dot is escaped", given: "long.routing.key", want: "long%2Erouting%2Ekey"},
		{name: "kazoo test vector", given: "test&.192. 168. 5. 5#", want: "test%26%2E192%2E+168%2E+5%2E+5%23"},
		// Our own.
		{name: "safe punctuation is kept", given: "a-b~c_d", want: "a-b~c_d"},
		{name: "all letters and digits are kept", given: "azAZ09", want: "azAZ09"},
		{name: "star inside a word is escaped", given: "a*", want: "a%2A"},
		{name: "two hashes are escaped", given: "##", want: "%23%23"},
		{name: "plus is escaped so decode is unambiguous", given: "a+b", want: "a%2Bb"},
		{name: "percent is escaped", given: "100%", want: "100%25"},
		{name: "realm with a port", given: "sip.example.com:5060", want: "sip%2Eexample%2Ecom%3A5060"},
		{name: "user at realm", given: "1000@example.com", want: "1000%40example%2Ecom"},
		{name: "utf-8 is encoded per byte", given: "é", want: "%C3%A9"},
		{name: "control bytes use two hex digits", given: "\x00\x0f\n", want: "%00%0F%0A"},
		{name: "high byte", given: "\xff", want: "%FF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Encode(tt.given); got != tt.want {
				t.Errorf("Encode(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		given   string
		want    string
		wantErr string
	}{
		{name: "kazoo test vector", given: "test%26%2E192%2E+168%2E+5%2E+5%23", want: "test&.192. 168. 5. 5#"},
		{name: "plain word", given: "key", want: "key"},
		{name: "empty", given: "", want: ""},
		{name: "wildcards", given: "*", want: "*"},
		{name: "lower-case hex is accepted", given: "%2e%c3%a9", want: ".é"},
		{name: "unescaped bytes are copied", given: "a.b", want: "a.b"},
		{name: "truncated escape", given: "ab%2", wantErr: "at byte 2"},
		{name: "lone percent at the end", given: "ab%", wantErr: "at byte 2"},
		{name: "non-hex escape", given: "a%zz", wantErr: "at byte 1"},
		{name: "half-hex escape", given: "%2g", wantErr: "at byte 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.given)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadEscape) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode(%q) error = %v, want ErrBadEscape mentioning %q", tt.given, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.given, err)
			}
			if got != tt.want {
				t.Errorf("Decode(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}

// FuzzEncodeRoundTrip checks that Decode undoes Encode and that Encode only emits the safe
// alphabet plus '%' and '+'. `go test` runs the seeds; `go test -fuzz FuzzEncodeRoundTrip` explores.
func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "*", "#", "key", "routing.key", "test&.192. 168. 5. 5#",
		"a+b%20c", "1000@example.com", "é漢字", "\x00\xff", "**", "#.*", "%2E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := Encode(s)
		dec, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%q)) = error %v; encoded %q", s, err, enc)
		}
		if dec != s {
			t.Fatalf("Decode(Encode(%q)) = %q; encoded %q", s, dec, enc)
		}
		if s == "" || s == "*" || s == "#" {
			if enc != s {
				t.Fatalf("Encode(%q) = %q, want it unchanged", s, enc)
			}
			return
		}
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; !keySafe(c) && c != '%' && c != '+' {
				t.Fatalf("Encode(%q) = %q: byte %d (%q) is outside [a-zA-Z0-9-~_%%+]", s, enc, i, c)
			}
		}
	})
}
