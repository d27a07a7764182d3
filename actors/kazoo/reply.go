package kazoo

import (
	"fmt"
	"strings"

	"github.com/warrenmq/warren/internal/redact"
)

// Prefixes of the Server-IDs that carry a hint besides the reply routing key.
const (
	// consumerPrefix starts a Server-ID rewritten to name the connection
	// the request came in on: Kazoo's listener_federator writes
	// "consumer://<federator pid>/<key>", Kamailio "consumer://<n>/<key>"
	// (<n> numbers its broker connection), Warren reads
	// "consumer://<broker id>/<key>" the same way.
	consumerPrefix = "consumer://"
	// pidPrefix starts a Server-ID naming the Erlang process a reply is for
	// (kz_api:encode_pid/2, "pid://<pid>/<queue>"): kz_amqp_util publishes
	// to <queue> with the AMQP header Deliver-To-PID set to <pid>, and the
	// receiving gen_listener hands the message to that process.
	pidPrefix = "pid://"
)

// Server-ID schemes, as ReplyAddress.Scheme gives them.
const (
	SchemeConsumer = "consumer" // consumer://<hint>/<key>
	SchemePID      = "pid"      // pid://<pid>/<key>
)

// ReplyAddress is where a reply to an envelope goes, with the hints the
// request carries of where it came from. Kazoo routes a reply by the
// Server-ID's scheme (kz_amqp_util:basic_publish, kz_amqp_channel): a
// consumer:// one on the channel of the consumer it names, that is back
// through the broker the request came from; a pid:// one with the
// Deliver-To-PID header.
type ReplyAddress struct {
	Exchange   string // ExchangeTargeted
	RoutingKey string // the Server-ID, or the <key> of a consumer:// or pid:// one
	Scheme     string // "", SchemeConsumer or SchemePID
	// Hint is the <hint> of consumer://<hint>/<key> (a Warren broker id,
	// Kamailio's connection number, a Kazoo federator's pid) or the <pid>
	// of pid://<pid>/<key>.
	Hint string
	// Broker is the request's AMQP-Broker with any password masked
	// (redact.Text): Kazoo's federator puts the broker's URI there, a
	// Warren federator the broker id.
	Broker string
	// Zone is the request's AMQP-Broker-Zone: the zone of the broker a
	// federator (Kazoo's or Warren's) or Kamailio consumed it from.
	Zone string
}

// DeliverToPID returns the value of the AMQP header Deliver-To-PID a reply
// to a carries ("" for none): the pid of a pid:// address.
func (a ReplyAddress) DeliverToPID() string {
	if a.Scheme == SchemePID {
		return a.Hint
	}
	return ""
}

// ReplyAddress returns where a reply to e goes (see [ReplyAddress]): the
// "targeted" exchange with the routing key of e's Server-ID, and the
// hints of where e came from. ok is false when e names no routing key to
// reply to (no non-empty string Server-ID, or a consumer:// or pid:// one
// with nothing after the hint): the sender expects no reply.
func (e Envelope) ReplyAddress() (ReplyAddress, bool) {
	a := ReplyAddress{Exchange: ExchangeTargeted, Broker: redact.Text(e.str(HeaderAMQPBroker)), Zone: e.str(HeaderAMQPBrokerZone)}
	a.Scheme, a.Hint, a.RoutingKey = ParseServerID(e.ServerID())
	if a.RoutingKey == "" {
		return ReplyAddress{}, false
	}
	return a, true
}

// ReplyTo returns where a reply to e goes: the "targeted" exchange with e's
// Server-ID as routing key, or the <key> of a consumer:// or pid://
// Server-ID. ok is false when e names no routing key, i.e. the sender
// expects no reply. [Envelope.ReplyAddress] keeps the hints ReplyTo drops.
func (e Envelope) ReplyTo() (exchange, routingKey string, ok bool) {
	a, ok := e.ReplyAddress()
	return a.Exchange, a.RoutingKey, ok
}

// ParseServerID splits a Server-ID into its scheme (SchemeConsumer,
// SchemePID, or "" for a plain one), its hint and the reply routing key.
// A consumer:// Server-ID splits at the first '/' after the hint (Kamailio's
// and Warren's hints hold none, a routing key may), a pid:// one at the
// last, as kz_amqp_util's "pid://(.*)/(.*)" does. A Server-ID of either
// scheme without a hint or a '/' is a plain one: its routing key is id.
func ParseServerID(id string) (scheme, hint, routingKey string) {
	if b, key, ok := SplitConsumerServerID(id); ok {
		return SchemeConsumer, b, key
	}
	if rest, ok := strings.CutPrefix(id, pidPrefix); ok {
		if i := strings.LastIndexByte(rest, '/'); i > 0 {
			return SchemePID, rest[:i], rest[i+1:]
		}
	}
	return "", "", id
}

// ConsumerServerID is the Server-ID "consumer://<hint>/<key>" that tells
// whoever replies to route the reply back through hint (for Warren, a
// broker id).
func ConsumerServerID(hint, key string) string { return consumerPrefix + hint + "/" + key }

// SplitConsumerServerID splits a Server-ID "consumer://<n>/<key>" into the
// hint <n> (Kamailio's broker number, a Kazoo federator's pid, a Warren
// broker id) and the routing key <key>, at the first '/' after the prefix.
// ok is false when id does not have that form.
func SplitConsumerServerID(id string) (broker, routingKey string, ok bool) {
	rest, found := strings.CutPrefix(id, consumerPrefix)
	if !found {
		return "", "", false
	}
	broker, routingKey, ok = strings.Cut(rest, "/")
	if !ok || broker == "" {
		return "", "", false
	}
	return broker, routingKey, true
}

// NewReply builds the reply to req: a deep copy of fields, whose Event-Category and Event-Name
// say what the reply is, with Msg-ID set so that the requester can match it, then filled and
// checked as [Envelope.Prepare] does.
//
// Msg-ID is req's Msg-Reply-ID when it has one, otherwise req's Msg-ID: kz_amqp_worker waits for
// replies whose Msg-ID equals the request's Msg-Reply-ID, falling back to its Msg-ID;
// Kamailio sets no Msg-Reply-ID, so its queries get their own Msg-ID back. A Msg-ID in fields is
// replaced. A request with neither gives an error wrapping [ErrMissingHeader].
//
// Publish the result where req.ReplyTo() says. To validate against a specific API, prefer
// [API.Build] with the Msg-ID from [ReplyMsgID].
func NewReply(req Envelope, fields map[string]any, d Defaults) (Envelope, error) {
	id := ReplyMsgID(req)
	if id == "" {
		return nil, fmt.Errorf("%w: the request has no Msg-ID or Msg-Reply-ID to answer", ErrMissingHeader)
	}
	e := Envelope(cloneObject(fields))
	e.SetMsgID(id)
	if err := e.Prepare(d); err != nil {
		return nil, err
	}
	return e, nil
}

// ReplyMsgID returns the Msg-ID a reply to req must carry: req's Msg-Reply-ID when it is a
// non-empty string, otherwise its Msg-ID (kz_api:msg_reply_id/1).
func ReplyMsgID(req Envelope) string {
	if id := req.str(HeaderMsgReplyID); id != "" {
		return id
	}
	return req.MsgID()
}
