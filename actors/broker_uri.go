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

// BrokerID derives the identity Warren shows for a broker: "host:port", with
// "@vhost" appended when the vhost is not "/". It contains no credentials and
// no "/", so it also names the broker's connection actor.
func BrokerID(uri string) (string, error) {
	u, err := amqp.ParseURI(strings.TrimSpace(uri))
	if err != nil {
		return "", ErrBadURI(uri, err)
	}
	if u.Port < 1 || u.Port > 65535 { // amqp091 takes any number
		return "", &URIError{URI: redact.URI(uri), Reason: "invalid port " + itoa(u.Port) + " (1-65535)"}
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
