package actors

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
)

var (
	// ErrNoChannelLeft is returned when a broker's negotiated channel_max is used up.
	ErrNoChannelLeft = errors.New("warren: no channel left on this connection (channel_max reached)")
	// ErrNotConnected is returned for work that needs a connected broker.
	ErrNotConnected = errors.New("warren: broker not connected")
	// ErrGaveUp is recorded when a connection stops redialling after its max attempts.
	ErrGaveUp = errors.New("warren: gave up dialling (max attempts reached)")
	// ErrDraining is the Err of the ChannelLost a consumer without CanMove
	// gets when its channel's broker is drained (DrainBroker).
	ErrDraining = errors.New("warren: broker draining")
	// ErrLastBroker is returned by a drain that would leave a zone with no
	// broker up to take its floats.
	ErrLastBroker = errors.New("warren: no other broker of the zone is up")
	// ErrPermanent is wrapped by the error of a wait that gave up because
	// every broker it could use refused its dial for a reason that retrying
	// cannot fix soon (see Permanent): access refused, vhost not found,
	// host name not resolved, certificate not trusted.
	ErrPermanent = errors.New("warren: permanent error (retrying cannot fix it)")
	// ErrMaxConnections is returned by AddConnection when the broker has
	// DefaultMaxConnections consuming connections already.
	ErrMaxConnections = errors.New("warren: the broker has as many connections as it may")
)

// BrokerError reports a failed operation against one broker.
type BrokerError struct {
	Broker string // broker id, never the URI
	Op     string // "dial", "open channel", "declare exchange targeted"
	Err    error  // often *amqp.Error
}

func (e *BrokerError) Error() string {
	return "warren: broker " + e.Broker + ": " + e.Op + ": " + redact.Error(e.Err)
}

func (e *BrokerError) Unwrap() error { return e.Err }

// URIError reports a broker URI that cannot be used. It never holds the
// URI's password.
type URIError struct {
	URI    string // redacted
	Reason string
}

func (e *URIError) Error() string { return "warren: bad AMQP URI " + e.URI + ": " + e.Reason }

// uriQueryReason checks the query parameters amqp091-go's ParseURI reads
// as numbers, as it reads them (present, even empty: parsed; the first
// value counts), and says which one is bad, or "". rawQuery comes from
// redact.ParseURI, which already refused everything else ParseURI could:
// checking here gives each error a reason of its own without reading
// amqp091-go's untyped errors, which quote the URI and whose wording is
// not an API.
func uriQueryReason(rawQuery string) string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "bad query string"
	}
	checks := []struct {
		name, reason string
		ok           func(string) bool
	}{
		{"heartbeat", "heartbeat= takes a whole number of seconds (0-65535)", uint16OK},
		{"channel_max", "channel_max= takes a whole number (0-65535)", uint16OK},
		{"connection_timeout", "connection_timeout= takes a whole number of milliseconds", func(v string) bool {
			_, err := strconv.Atoi(v)
			return err == nil
		}},
	}
	for _, c := range checks {
		if q.Has(c.name) && !c.ok(q.Get(c.name)) {
			return c.reason
		}
	}
	return ""
}

func uint16OK(v string) bool {
	_, err := strconv.ParseUint(v, 10, 16)
	return err == nil
}

// Permanent reports whether a dial or setup error is one that retrying cannot
// fix soon: refused credentials, a missing vhost, an exchange declared with
// other arguments, a certificate the client does not trust.
func Permanent(err error) bool {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused, amqp.NotAllowed, amqp.InvalidPath, amqp.PreconditionFailed, amqp.NotImplemented:
			return true
		}
		return strings.Contains(ae.Reason, "username or password")
	}
	if errors.Is(err, amqp.ErrSASL) || errors.Is(err, amqp.ErrCredentials) || errors.Is(err, amqp.ErrVhost) {
		return true
	}
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return true
	}
	return false
}

// channelException reports whether a channel close was a soft, channel-level
// error (404, 406, 403, 405 …) that leaves the connection open.
func channelException(err *amqp.Error) bool { return err != nil && err.Recover }

func wrapOpenErr(broker string, err error, channelMax int) error {
	if errors.Is(err, amqp.ErrChannelMax) {
		return &BrokerError{Broker: broker, Op: "open channel", Err: fmt.Errorf("%w: %d channels negotiated", ErrNoChannelLeft, channelMax)}
	}
	return &BrokerError{Broker: broker, Op: "open channel", Err: err}
}
