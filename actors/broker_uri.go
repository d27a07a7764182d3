package actors

import (
	"log/slog"
	"net/url"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
)

// BrokerURI is an AMQP URI that never prints its password. Use it for every
// URI that may reach a log line, an error or the CLI.
type BrokerURI string

// String returns the URI with its password masked as "xxxxx".
func (u BrokerURI) String() string { return redact.URI(string(u)) }

// LogValue keeps the password out of slog output.
func (u BrokerURI) LogValue() slog.Value { return slog.StringValue(u.String()) }

// ParseBrokerURI is the one validated reading of a broker URI: every
// path that dials a broker, names it or prints its URI starts here.
// [redact.ParseURI] decides what the URI's parts are (it refuses
// "amqp:/host", a '/' or '#' in a password, and whatever else could move
// credentials into the host or the vhost), amqp091-go reads its query
// parameters, and both must agree on user, password, host, port and vhost.
// The error is a *URIError that never holds the password.
//
// Kamailio's alias kazoo:// reads as amqp://.
func ParseBrokerURI(uri string) (amqp.URI, error) {
	uri = strings.TrimSpace(uri)
	if len(uri) >= 8 && strings.EqualFold(uri[:8], "kazoo://") {
		uri = "amqp://" + uri[8:]
	}
	p, err := redact.ParseURI(uri)
	if err != nil {
		return amqp.URI{}, &URIError{URI: redact.Unparsable, Reason: err.Error()}
	}
	if reason := uriQueryReason(p.RawQuery); reason != "" {
		return amqp.URI{}, &URIError{URI: p.Redacted(), Reason: reason}
	}
	u, err := amqp.ParseURI(strings.TrimSpace(uri))
	if err != nil { // checked above; amqp091-go's error would quote the password
		return amqp.URI{}, &URIError{URI: p.Redacted(), Reason: "amqp091-go cannot read it"}
	}
	port := p.Port
	if port == 0 {
		port = 5672
		if p.Scheme == "amqps" {
			port = 5671
		}
	}
	if u.Host != p.Host || u.Port != port || u.Vhost != p.Vhost ||
		p.HasUser && u.Username != p.User || p.HasPassword && u.Password != p.Password {
		return amqp.URI{}, &URIError{URI: p.Redacted(), Reason: "amqp091-go reads its parts differently"}
	}
	return u, nil
}

// BrokerID derives the identity Warren shows for a broker: "host:port", with
// "@vhost" appended when the vhost is not "/". It is built from the host,
// port and vhost that [ParseBrokerURI] finds, never from the userinfo, so it
// contains no credentials and no "/", and also names the broker's
// connection actor.
func BrokerID(uri string) (string, error) {
	u, err := ParseBrokerURI(uri)
	if err != nil {
		return "", err
	}
	id := u.Host + ":" + itoa(u.Port)
	if u.Vhost != "/" && u.Vhost != "" {
		id += "@" + url.PathEscape(u.Vhost)
	}
	return id, nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
