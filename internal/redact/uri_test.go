package redact

import (
	"strings"
	"testing"
)

// The inputs of issue 19: each leaked a password somewhere before.
var issueURIs = []string{
	"amqp:/guest:s3cret@127.0.0.1:5672",
	"amqp//guest:s3cret@127.0.0.1:5672",
	"amqp://guest:2024/Winter@host/",
	"amqp://guest:p'ss@host/",
	`amqp://guest:p"ss@host/`,
	"amqp://guest:p<ss>@host/",
	"amqp://guest:p ss@host/",
	"  amqp://guest:s3cret@host:5672/vh \n",
	"amqp://guest:s3cret@host:5672/a%2Fb?heartbeat=5",
	"amqp://guest:p%40ss@[::1]:5672/",
	"amqp://guest:p#ss@host/",
	"amqp://guest:p?ss@host/",
	"amqp://guest:p@ss@host/",
	"amqps://kazoo:s3cret@broker.example.com/kazoo",
	"kazoo://guest:s3cret@host/",
	"AMQP://guest:s3cret@HOST/",
	"amqp://guest@host/",
	"amqp://host",
}

func TestParseURI_RefusesAmbiguousURIs(t *testing.T) {
	for _, tt := range []struct{ uri, why string }{
		{"amqp:/guest:s3cret@127.0.0.1:5672", `followed by "//"`},
		{"amqp//guest:s3cret@127.0.0.1:5672", `"://"`},
		{"amqp:guest:s3cret@127.0.0.1:5672", `followed by "//"`},
		{"amqp://guest:2024/Winter@host/", "'@' after the host"},
		{"amqp://guest:p#ss@host/", "'@' after the host"},
		{"amqp://guest:p?ss@host/", "'@' after the host"},
		{`amqp://guest:p"ss@host/`, "percent-encoded"},
		{"amqp://guest:p<ss>@host/", "percent-encoded"},
		{"amqp://guest:p ss@host/", "whitespace"},
		{"amqp://guest:s3cret@/", "empty host"},
		{"amqp://:s3cret@host/", "empty user"},
		{"amqp://guest:s3cret@host:0/", "invalid port"},
		{"amqp://guest:s3cret@host:99999/", "invalid port"},
		{"amqp://guest:s3cret@host:/", "invalid port"},
		{"amqp://guest:s3cret@host/vh#frag", "fragment"},
		{"http://guest:s3cret@host/", "scheme"},
		{"guest:s3cret@host", "scheme"},
		{"amqp://guest:s3%zzcret@host/", "percent-encoding"},
		{"amqp://guest:s3cret@host/" + strings.Repeat("v", MaxURILen), "longer than"},
	} {
		_, err := ParseURI(tt.uri)
		if err == nil || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseURI(%q) = %v, want an error saying %q", tt.uri, err, tt.why)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "Winter") || strings.Contains(err.Error(), "ss@") {
			t.Errorf("ParseURI(%q) error quotes the input: %v", tt.uri, err)
		}
	}
}

func TestParseURI_Parts(t *testing.T) {
	p, err := ParseURI(" amqp://guest:p%2F%40ss'@[::1]:5673/a%2Fb?heartbeat=5 ")
	if err != nil {
		t.Fatal(err)
	}
	want := URIParts{Scheme: "amqp", HasUser: true, User: "guest", HasPassword: true, Password: "p/@ss'",
		Host: "::1", Port: 5673, Vhost: "a/b", RawQuery: "heartbeat=5"}
	p.raw, p.pass, p.user = "", [2]int{}, [2]int{}
	if p != want {
		t.Fatalf("ParseURI = %+v, want %+v", p, want)
	}
	if p, _ := ParseURI("amqp://guest:p@ss@host/"); p.Password != "p@ss" || p.Host != "host" {
		t.Fatalf("a raw '@' in the password (net/url's reading): %+v", p)
	}
	if p, _ := ParseURI("amqp://host"); p.HasUser || p.Vhost != "/" || p.Port != 0 {
		t.Fatalf("amqp://host: %+v", p)
	}
}

func TestURI_NeverShowsTheIssuesPasswords(t *testing.T) {
	for _, uri := range issueURIs {
		got := URI(uri)
		for _, secret := range []string{"s3cret", "Winter", "2024", "p'ss", "ss@", "ss>", "p%40ss"} {
			if strings.Contains(got, secret) {
				t.Errorf("URI(%q) = %q shows %q", uri, got, secret)
			}
		}
	}
	if got := URI("amqp://guest:p'ss@host/"); got != "amqp://guest:xxxxx@host/" {
		t.Errorf("URI(p'ss) = %q", got)
	}
}

func TestText_MasksTheIssuesPasswords(t *testing.T) {
	for _, uri := range issueURIs {
		for _, text := range []string{uri, `dial "` + uri + `": refused`, "<" + uri + ">", "'" + uri + "'", "x " + uri + ", " + uri} {
			got := Text(text)
			for _, secret := range []string{"s3cret", "Winter", "p'ss", "'ss", "ss@", "ss>", "p%40ss"} {
				if strings.Contains(got, secret) && !strings.Contains(strings.ReplaceAll(text, uri, ""), secret) {
					t.Errorf("Text(%q) = %q shows %q", text, got, secret)
				}
			}
		}
	}
	if got := Text("dial amqp:/guest:s3cret@127.0.0.1:5672 failed"); got != "dial amqp:/guest:xxxxx@127.0.0.1:5672 failed" {
		t.Errorf("Text(amqp:/) = %q", got)
	}
}

func TestClip(t *testing.T) {
	if got := Clip("short", 10); got != "short" {
		t.Fatal(got)
	}
	if got := Clip(strings.Repeat("é", 100), 11); got != strings.Repeat("é", 5)+"… (200 bytes)" {
		t.Fatal(got)
	}
}
