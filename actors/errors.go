package actors

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
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

// ErrBadURI builds a URIError without quoting the input: amqp.ParseURI and
// url.Parse errors both contain the whole URI, password included.
func ErrBadURI(uri string, err error) error {
	reason := "cannot parse"
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "heartbeat"), strings.Contains(msg, "channel_max"):
			reason = "heartbeat= and channel_max= take a whole number (0-65535)"
		case strings.Contains(msg, "connection_timeout"):
			reason = "connection_timeout= takes a whole number of milliseconds"
		case strings.Contains(msg, "scheme"):
			reason = "scheme must be amqp:// or amqps://"
		case strings.Contains(msg, "port"):
			reason = "invalid port"
		case strings.Contains(msg, "host"):
			reason = "invalid host"
		}
	}
	return &URIError{URI: redact.URI(uri), Reason: reason}
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
