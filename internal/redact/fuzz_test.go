package redact

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseURI checks, for any input, that the parser, its encoder and the
// redactor agree:
//   - a URI ParseURI accepts encodes to one it reads as the same parts, and
//     net/url reads its userinfo and host the same way;
//   - URI and Text mask exactly the bytes the parser takes for the password,
//     whatever text surrounds the URI in Text;
//   - an error never quotes the input.
func FuzzParseURI(f *testing.F) {
	for _, s := range issueURIs {
		f.Add(s, "dial ", ": refused")
	}
	f.Add("amqp://guest:guest@127.0.0.1:5672/", `parse "`, `": invalid port`)
	f.Add("amqps://u:p@h/vh?cacertfile=/x&heartbeat=5", "<", ">")
	f.Add("amqp://u:s3cret@h/", "'", "'@x")
	f.Add("amqp://u:p%20ss@h/", "amqp:/", "amqp://a:b@c")
	f.Fuzz(func(t *testing.T, uri, before, after string) {
		p, err := ParseURI(uri)
		red, txt := URI(uri), Text(before+uri+after)
		if err != nil {
			if red != Unparsable {
				t.Fatalf("URI(%q) = %q for a URI ParseURI refuses", uri, red)
			}
			if s := strings.TrimSpace(uri); len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		// Round trip: Encode → ParseURI gives the same parts.
		q, err := ParseURI(p.Encode())
		if err != nil {
			t.Fatalf("ParseURI(Encode(%q)) = %v", uri, err)
		}
		if strip(p) != strip(q) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", uri, strip(q), strip(p))
		}
		u, err := url.Parse(strings.TrimSpace(uri))
		if err != nil || u.Hostname() != p.Host || (u.User != nil) != p.HasUser {
			t.Fatalf("net/url reads %q differently: %v", uri, err)
		}
		// The redacted URI is the same URI with "xxxxx" for the password.
		r, err := ParseURI(red)
		if err != nil {
			t.Fatalf("URI(%q) = %q does not parse: %v", uri, red, err)
		}
		want := strip(p)
		if p.HasPassword {
			want.Password = Mask
		}
		if strip(r) != want {
			t.Fatalf("URI(%q) = %q reads as %+v", uri, red, strip(r))
		}
		if Text(strings.TrimSpace(uri)) != red {
			t.Fatalf("Text(%q) = %q, URI = %q", uri, Text(uri), red)
		}
		if !p.HasPassword {
			return
		}
		// Whatever surrounds it, no password Text could have left shows:
		// checked for passwords without an 'x' (the mask's letter) that the
		// text shows nowhere else.
		s := strings.TrimSpace(uri)
		lead := uri[:strings.Index(uri, s)]
		ref := before + lead + s[:p.pass[0]] + Mask + s[p.pass[1]:] + uri[len(lead)+len(s):] + after
		for _, secret := range []string{p.Password, s[p.pass[0]:p.pass[1]]} {
			if secret == "" || strings.ContainsAny(secret, "xX") || strings.Contains(ref, secret) {
				continue
			}
			if strings.Contains(red, secret) {
				t.Fatalf("URI(%q) = %q shows the password", uri, red)
			}
			if strings.Contains(txt, secret) {
				t.Fatalf("Text(%q) = %q shows the password %q", before+uri+after, txt, secret)
			}
		}
	})
}

// strip drops the offsets, keeping the parts.
func strip(p URIParts) URIParts {
	p.raw, p.pass, p.user = "", [2]int{}, [2]int{}
	return p
}

// FuzzText checks that Text never panics, keeps text without a URI as it
// is, and shows no password of a word of the text that ParseURI accepts.
func FuzzText(f *testing.F) {
	for _, s := range issueURIs {
		f.Add(s)
	}
	f.Add("no uri here")
	f.Add("amqp:/a:b@c amqp//d:e@f kazoo://g:h@i")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if !uriStart.MatchString(s) && out != s {
			t.Fatalf("Text(%q) = %q changed a text without a URI", s, out)
		}
		for _, w := range strings.Fields(s) {
			p, err := ParseURI(w)
			if err != nil || !p.HasPassword || p.Password == "" || strings.ContainsAny(p.Password, "xX") ||
				strings.Count(s, p.Password) != 1 {
				continue
			}
			if strings.Contains(out, p.Password) {
				t.Fatalf("Text(%q) = %q shows the password %q of %q", s, out, p.Password, w)
			}
		}
	})
}
