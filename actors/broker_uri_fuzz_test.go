package actors

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/warrenmq/warren/internal/redact"
)

// FuzzBrokerID checks, for any input, that a broker id is built from the
// host, port and vhost alone (never the userinfo), that it agrees with the
// URI the connection dials, and that a refused URI's error shows nothing of
// it but what the redactor shows.
func FuzzBrokerID(f *testing.F) {
	for _, s := range []string{
		"amqp:/guest:s3cret@127.0.0.1:5672",
		"amqp//guest:s3cret@127.0.0.1:5672",
		"amqp://guest:2024/Winter@host/",
		"amqp://guest:p'ss@host/",
		`amqp://guest:"p<ss>"@host/`,
		" amqp://guest:s3cret@host:5672/kazoo \t",
		"amqp://guest:s3cret@host:5672/a%2Fb%40c?heartbeat=5",
		"amqps://u:p%40ss@[::1]/?cacertfile=/x",
		"amqp://guest:123456",
		"amqp://guest:s3cret@h:99999/",
		"amqp://u:s3cret@h/?heartbeat=s3cret",
		"kazoo://guest:s3cret@host/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		id, err := BrokerID(uri)
		norm := strings.TrimSpace(uri)
		if len(norm) >= 8 && strings.EqualFold(norm[:8], "kazoo://") {
			norm = "amqp://" + norm[8:] // Kamailio's alias
		}
		p, perr := redact.ParseURI(norm)
		if err != nil {
			var ue *URIError
			if !errors.As(err, &ue) {
				t.Fatalf("BrokerID(%q): %T %v, want a *URIError", uri, err, err)
			}
			if perr != nil && ue.URI != redact.Unparsable {
				t.Fatalf("BrokerID(%q) error shows %q of a URI the parser refuses", uri, ue.URI)
			}
			if perr == nil && ue.URI != p.Redacted() {
				t.Fatalf("BrokerID(%q) error shows %q, the redactor %q", uri, ue.URI, p.Redacted())
			}
			return
		}
		if perr != nil {
			t.Fatalf("BrokerID(%q) = %q for a URI the parser refuses: %v", uri, id, perr)
		}
		u, _ := ParseBrokerURI(uri)
		want := u.Host + ":" + itoa(u.Port)
		if p.Vhost != "/" {
			want += "@" + url.PathEscape(p.Vhost)
		}
		if id != want || u.Host != p.Host || u.Vhost != p.Vhost {
			t.Fatalf("BrokerID(%q) = %q, want %q from host, port and vhost", uri, id, want)
		}
		if strings.Contains(id, "/") {
			t.Fatalf("BrokerID(%q) = %q holds a '/'", uri, id)
		}
		if p.HasPassword && len(p.Password) >= 3 && !strings.Contains(want, p.Password) &&
			strings.Contains(id, p.Password) {
			t.Fatalf("BrokerID(%q) = %q holds the password", uri, id)
		}
		// The URI the connection dials is the one the id names.
		dialled, err := ConnectionOptions{URL: uri}.uri()
		if err != nil {
			t.Fatalf("BrokerID(%q) ok but uri: %v", uri, err)
		}
		if again, err := BrokerID(dialled); err != nil || again != id {
			t.Fatalf("the dialled URI names %q (%v), the id is %q", again, err, id)
		}
	})
}
