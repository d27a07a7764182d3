package kazoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warrenmq/warren/internal/redact"
)

// FuzzEnvelope checks, for any body, that Parse never panics and that what
// it accepts survives Marshal → Parse unchanged, with Marshal stable.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"Event-Category":"call_event","Event-Name":"CHANNEL_CREATE","Msg-ID":"m1","App-Name":"a","App-Version":"1","Server-ID":"s","Node":"n"}`,
		`{"Call-ID":"c","Number":12345678901234567890,"Float":1.5e300,"Nested":{"a":[1,"two",null,true,{"b":"<sip:1000@example.com>"}]}}`,
		`{"k":"\ud800","k2":"\u00e9","dup":1,"dup":2}`,
		`{"password":"amqp://guest:s3cret@127.0.0.1:5672"}`,
		// Federated deliveries: Kazoo's federator puts the broker URI, credentials included.
		`{"Server-ID":"consumer://<0.12.0>/q","AMQP-Broker":"amqp://kazoo:s3cret@10.0.0.6:5672/","AMQP-Broker-Zone":"west"}`,
		`{"Server-ID":"consumer://10.0.0.5:5672/kamailio@h-<1>-targeted-0","AMQP-Broker":"10.0.0.5:5672","AMQP-Broker-Zone":"east"}`,
		`{"Server-ID":"pid://<0.1.0>/a/b","AMQP-Broker":"amqps://u:p%40ss@[::1]:5671/vh?heartbeat=5","AMQP-Received":1700000000}`,
		`{"Server-ID":"consumer://2/","AMQP-Broker":"see amqp://x:hunter22@h and amqp://y:letmein@g"}`,
		`[1,2]`, `"s"`, `{`, `{"a":1} x`, `{"a":1}   `, "\xff",
		strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Parse(body)
		if err != nil {
			return
		}
		_ = e.Text(HeaderMsgID) + e.Category() + e.Name() + e.MsgID() + e.ServerID()
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed envelope: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(%q)) = %v", body, err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("round trip changed the envelope:\n%v\n%v", e, again)
		}
		if out2, _ := again.Marshal(); !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable:\n%s\n%s", out, out2)
		}
		if c := e.Clone(); !reflect.DeepEqual(e, c) {
			t.Fatal("Clone differs")
		}
		checkReplyAddress(t, e)
	})
}

// checkReplyAddress checks what ReplyAddress makes of any envelope: the
// routing key and hint put back together give the Server-ID, and the
// broker it reports never shows the password of a URI in AMQP-Broker.
func checkReplyAddress(t *testing.T, e Envelope) {
	a, ok := e.ReplyAddress()
	if !ok {
		return
	}
	id := e.ServerID()
	switch a.Scheme {
	case SchemeConsumer:
		if ConsumerServerID(a.Hint, a.RoutingKey) != id {
			t.Fatalf("ReplyAddress of Server-ID %q = %+v", id, a)
		}
	case SchemePID:
		if "pid://"+a.Hint+"/"+a.RoutingKey != id || strings.Contains(a.RoutingKey, "/") {
			t.Fatalf("ReplyAddress of Server-ID %q = %+v", id, a)
		}
	default:
		if a.RoutingKey != id || a.Hint != "" {
			t.Fatalf("ReplyAddress of Server-ID %q = %+v", id, a)
		}
	}
	raw, _ := e[HeaderAMQPBroker].(string)
	p, err := redact.ParseURI(strings.TrimSpace(raw))
	// A password that shows in raw once, with no letter of the mask: the
	// reported broker must not show it (redact's fuzz covers the rest).
	if err == nil && p.HasPassword && len(p.Password) >= 3 && !strings.ContainsAny(p.Password, "xX") &&
		strings.Count(raw, p.Password) == 1 && strings.Contains(a.Broker, p.Password) {
		t.Fatalf("ReplyAddress().Broker = %q shows the password of %q", a.Broker, raw)
	}
}

// FuzzRoutingKey checks the routing-key word encoding: Decode(Encode(s)) is
// s for any s, Encode's output is one topic word (no '.') made of the safe
// bytes, '+' and %XX, and Decode of anything either fails or gives a value
// that round-trips.
func FuzzRoutingKey(f *testing.F) {
	for _, s := range []string{"", "*", "#", "a.b", "user@realm.com", "sip:+1 555", "100%", "%2E", "%zz", "+", "é\x00\xff", "a b.c*d#e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := Encode(s)
		dec, err := Decode(enc)
		if err != nil || dec != s {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, dec, err)
		}
		if s != "*" && s != "#" {
			for i := 0; i < len(enc); i++ {
				if c := enc[i]; !keySafe(c) && c != '+' && c != '%' {
					t.Fatalf("Encode(%q) = %q holds %q", s, enc, c)
				}
			}
		}
		if d, err := Decode(s); err == nil {
			if back, err := Decode(Encode(d)); err != nil || back != d {
				t.Fatalf("Decode(Encode(Decode(%q))) = %q, %v; want %q", s, back, err, d)
			}
		}
	})
}

// FuzzJSONPath checks, for any path, that ParsePath keeps its text, and that
// a document built to hold a value at an accepted path gives it back, both
// through Path.Get and through GetString on its JSON.
func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"Channels[0].switch_url", "[0].name", "a[0][1].b", "Event-Category", "a..b", ".a", "a.", "a[", "a[x]", "a[]", "a[0]b", "]", "a[99999999999999999999]", "a%b", "é.\xff"} {
		f.Add(s, []byte(`{"Channels":[{"switch_url":"sip:x"}],"a":[[0,{"b":1}]]}`))
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		_, _, _ = GetString(body, path) // never panics
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		if p.String() != path {
			t.Fatalf("String() = %q, want %q", p.String(), path)
		}
		var doc any = "leaf"
		for i := len(p.steps) - 1; i >= 0; i-- {
			st := p.steps[i]
			if st.isIdx {
				if st.idx > 1000 {
					return
				}
				arr := make([]any, st.idx+1)
				arr[st.idx] = doc
				doc = arr
				continue
			}
			doc = map[string]any{st.key: doc}
		}
		if v, ok := p.Get(doc); !ok || v != "leaf" {
			t.Fatalf("Get(%q) = %v, %v on a document built for it", path, v, ok)
		}
		if !utf8.ValidString(path) {
			return // JSON replaces invalid UTF-8 in keys
		}
		js, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok, err := GetString(js, path); err != nil || !ok || s != "leaf" {
			t.Fatalf("GetString(%s, %q) = %q, %v, %v", js, path, s, ok, err)
		}
	})
}

// FuzzGunzip checks the decompression of delivery bodies: for any body,
// Gunzip never panics, never returns more than its bound, and fails only
// with ErrBadGzip or ErrBodyTooLarge; and any body survives Gzip → Gunzip
// under a bound of its own size, failing with ErrBodyTooLarge under one
// byte less (0 is the default bound).
func FuzzGunzip(f *testing.F) {
	env := []byte(`{"Event-Category":"directory","Event-Name":"authn_req","Msg-ID":"m1"}`)
	z := Gzip(env)
	for _, s := range [][]byte{
		z, z[:len(z)/2], z[:len(z)-1], append(bytes.Clone(z), z...), append(bytes.Clone(z), 0),
		bytes.Repeat(Gzip(make([]byte, 64<<10)), 4), // a small bomb: 256 KiB from under 1 KiB
		nil, {0x1f, 0x8b}, {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, env, []byte("\xff\x00garbage"),
	} {
		f.Add(s)
	}
	const bound = 64 << 10
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := Gunzip(body, bound)
		switch {
		case err == nil && len(out) > bound:
			t.Fatalf("Gunzip returned %d bytes over its bound %d", len(out), bound)
		case err != nil && !errors.Is(err, ErrBadGzip) && !errors.Is(err, ErrBodyTooLarge):
			t.Fatalf("Gunzip failed with %v, neither ErrBadGzip nor ErrBodyTooLarge", err)
		}
		back, err := Gunzip(Gzip(body), len(body))
		if err != nil || !bytes.Equal(back, body) {
			t.Fatalf("Gunzip(Gzip(%q)) = %q, %v", body, back, err)
		}
		if len(body) > 1 { // a bound of 0 is the default one
			if _, err := Gunzip(Gzip(body), len(body)-1); !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("Gunzip(Gzip(%d bytes)) under a bound of one less: %v", len(body), err)
			}
		}
	})
}
