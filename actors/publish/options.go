package publish

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/kazoo"
)

// DefaultContentType is the content type of a publish that sets none:
// Kazoo's (kz_types.hrl), JSON.
const DefaultContentType = "application/json"

// Option changes one publish. An option given a bad value makes the
// publish fail before anything is sent.
type Option func(*publishRequest) error

// publishRequest is one publish as the options shape it.
type publishRequest struct {
	msg       amqp.Publishing
	mandatory bool
	confirm   bool
	probe     bool   // a fire-and-forget publish written confirmed: its size is not known good yet
	ordered   bool   // keep to the lane of orderKey
	orderKey  uint32 // FNV-1a of the OrderKey
	zone      string // the zone to publish to; "" the local zone, AllZones every zone
	pool      string // the named pool to publish through (ViaPool); "" the zone's
	stamped   bool   // Timestamp given: no default stamp
	encoded   bool   // Encoded: the body is in its content encoding already
}

// AllZones, given to ToZone, publishes the message once to every zone of
// the tree (Kazoo's federated publish): Tree.Publish returns once each
// zone's publish returned, with the failures joined, each naming its zone.
// It is rpc.AllZones too, the zone of a Tree.CallCollect asking every zone.
const AllZones = "*"

// ToZone publishes to the brokers of zone (through the tree's publishers
// of that zone) instead of the local zone's; [AllZones] to every zone's. A
// zone the tree does not know fails the publish. Read by Tree.Publish; a
// Pool publishes to its own zone.
func ToZone(zone string) Option {
	return func(r *publishRequest) error {
		if zone == "" {
			return errors.New("warren: publish.ToZone: empty zone name")
		}
		r.zone = zone
		return nil
	}
}

// ViaPool publishes through the publishers pool name that the tree runs
// (one added with Tree.AddPool, or "publishers@<zone>"): on its channels,
// pinned to its broker or zone. An unknown pool fails the publish at once.
// Read by Tree.Publish; a Pool publishes through itself.
func ViaPool(name string) Option {
	return func(r *publishRequest) error {
		if name == "" {
			return errors.New("warren: publish.ViaPool: empty pool name")
		}
		r.pool = name
		return nil
	}
}

// Target returns the zone opts name with ToZone: "" for none (the local
// zone), AllZones for every zone.
func Target(opts ...Option) (zone string) {
	zone, _ = Route(opts...)
	return zone
}

// Route returns the zone opts name with ToZone ("" for none, AllZones for
// every zone) and the pool they name with ViaPool ("" for none).
func Route(opts ...Option) (zone, pool string) {
	r := getRequest()
	defer putRequest(r)
	for _, o := range opts {
		if o != nil {
			_ = o(r) // errors (and nil options) surface when the publish applies opts
		}
	}
	return r.zone, r.pool
}

// requests recycles publishRequests: one is shaped by the options of
// every publish (an Option is a func taking it, so it cannot live on the
// stack), and its message is encoded before the publish returns.
var requests = sync.Pool{New: func() any { return new(publishRequest) }}

func getRequest() *publishRequest { return requests.Get().(*publishRequest) }

func putRequest(r *publishRequest) {
	*r = publishRequest{}
	requests.Put(r)
}

// Confirm makes the publish wait for the broker's confirm: it returns nil
// once the broker acked the message (persisted it, for a persistent message
// to a durable queue), and an error when it was nacked, returned (with
// Mandatory), or not acked within its ctx or the pool's ConfirmTimeout. A
// message whose channel closes before the ack is written again (same
// MessageId, header [ResentHeader]): at least once. A confirmed publish
// without a MessageID gets a generated one. Defaults to fire-and-forget:
// the publish returns once the message is written to the connection.
func Confirm() Option {
	return func(r *publishRequest) error { r.confirm = true; return nil }
}

// OrderKey keeps publishes that share key in order: they all go out on one
// channel (the confirm-mode channel of the publisher key hashes to), so the
// broker routes them in the order the calls were made, as Kazoo's
// per-process channels do. Without it, publishes spread over the pool's
// channels, and fire-and-forget and confirmed ones use different channels:
// the broker may route even two successive publishes of one goroutine in
// either order. Order holds while that channel lives; a reconnect starts a
// new one. Defaults to none.
func OrderKey(key string) Option {
	return func(r *publishRequest) error {
		h := uint32(2166136261)
		for i := 0; i < len(key); i++ {
			h = (h ^ uint32(key[i])) * 16777619
		}
		r.ordered, r.orderKey = true, h
		return nil
	}
}

// Persistent sets delivery mode 2: a durable queue keeps the message across
// a broker restart. Defaults to transient (delivery mode 1), as in Kazoo.
func Persistent() Option {
	return func(r *publishRequest) error { r.msg.DeliveryMode = amqp.Persistent; return nil }
}

// Mandatory asks the broker to return the message when no queue is bound
// for it. With Confirm, the publish then fails with a [*ReturnedError];
// without, the return is only counted. Returns are matched to publishes by
// MessageId: Warren generates one when none is given, and callers that give
// their own should keep them unique. Defaults to false, as in Kazoo.
func Mandatory() Option {
	return func(r *publishRequest) error { r.mandatory = true; return nil }
}

// Headers sets the AMQP headers. Defaults to none.
func Headers(h amqp.Table) Option {
	return func(r *publishRequest) error {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("warren: publish option Headers: %w", err)
		}
		r.msg.Headers = h
		return nil
	}
}

// ContentType sets the content type. Defaults to DefaultContentType.
func ContentType(s string) Option {
	return func(r *publishRequest) error { r.msg.ContentType = s; return nil }
}

// ContentEncoding sets the content encoding. "gzip" ([kazoo.IsGzip])
// also compresses the body, as Kazoo's kz_amqp_util:basic_publish does
// with content_encoding gzip: a Kazoo peer (gen_listener) and a Warren
// listener gunzip it before decoding. Any other value only sets the
// property. A body already in its encoding takes [Encoded] too. Defaults
// to none.
func ContentEncoding(s string) Option {
	return func(r *publishRequest) error { r.msg.ContentEncoding = s; return nil }
}

// Gzip compresses the body (gzip, the default level, as Kazoo's
// zlib:gzip) and sets content_encoding "gzip": ContentEncoding("gzip").
// Every body is compressed, whatever its size, as Kazoo does when asked
// (kapi_im gzips every MMS); ask for it for large bodies only, since a
// small one gains nothing and costs the CPU of both sides. The size limit
// (MaxMessageSize, ErrTooLarge) applies to the compressed body. Defaults
// to none.
func Gzip() Option {
	return func(r *publishRequest) error { r.msg.ContentEncoding = kazoo.EncodingGzip; return nil }
}

// Encoded says the body is in the content encoding given already (a relay
// of a delivery, say): it goes out as it is, gzip or not. Defaults to
// false: ContentEncoding("gzip") and Gzip compress the body.
func Encoded() Option {
	return func(r *publishRequest) error { r.encoded = true; return nil }
}

// Timestamp sets the AMQP timestamp property, in whole seconds (the
// property's resolution). Defaults to the time of the publish: Kazoo's
// basic_publish stamps every message too. The zero time publishes without
// a timestamp. (Kazoo's own stamp, kz_time:now_us(), is microseconds since
// year 0 in a field the AMQP spec and every other client read as seconds
// since 1970; nothing in Kazoo reads it back. Warren stamps seconds, as the
// spec says: [kazoo.StampTime] reads a Kazoo peer's.)
func Timestamp(t time.Time) Option {
	return func(r *publishRequest) error { r.msg.Timestamp, r.stamped = t, true; return nil }
}

// UserID sets the AMQP user-id property. RabbitMQ checks it: a user id
// other than the connection's user closes the channel (406
// PRECONDITION_FAILED), so give the user name of the brokers' URIs. A
// publish with a user id is written confirmed, a fire-and-forget one too
// (it then waits for the broker's confirm), so that a refused user id
// fails that publish alone, with [ErrUserRefused] naming the broker's
// reason (see user_id.go). At most 255 bytes. Defaults to none.
func UserID(s string) Option {
	return func(r *publishRequest) error {
		if len(s) > 255 {
			return fmt.Errorf("warren: publish option UserID: %d bytes, at most 255", len(s))
		}
		r.msg.UserId = s
		return nil
	}
}

// Expiration sets the per-message TTL, in whole milliseconds (rounded up).
// Defaults to none: the queue's own TTL applies.
func Expiration(d time.Duration) Option {
	return func(r *publishRequest) error {
		if d < 0 {
			return fmt.Errorf("warren: publish option Expiration(%v): must not be negative", d)
		}
		ms := (d + time.Millisecond - 1) / time.Millisecond
		r.msg.Expiration = strconv.FormatInt(int64(ms), 10)
		return nil
	}
}

// Priority sets the message priority, used by queues declared with
// x-max-priority. Defaults to 0.
func Priority(n uint8) Option {
	return func(r *publishRequest) error { r.msg.Priority = n; return nil }
}

// MessageID sets the AMQP message id. Defaults to none, or a generated one
// (warren-<hex>-<seq>) for a confirmed or mandatory publish.
func MessageID(s string) Option {
	return func(r *publishRequest) error { r.msg.MessageId = s; return nil }
}

// CorrelationID sets the AMQP correlation id. Kazoo itself correlates by the
// Msg-ID of the JSON body. Defaults to none.
func CorrelationID(s string) Option {
	return func(r *publishRequest) error { r.msg.CorrelationId = s; return nil }
}

// ReplyTo sets the AMQP reply-to. Defaults to none.
func ReplyTo(s string) Option {
	return func(r *publishRequest) error { r.msg.ReplyTo = s; return nil }
}

// Type sets the AMQP type property. Defaults to none.
func Type(s string) Option {
	return func(r *publishRequest) error { r.msg.Type = s; return nil }
}

// AppID sets the AMQP app-id property. Defaults to none.
func AppID(s string) Option {
	return func(r *publishRequest) error { r.msg.AppId = s; return nil }
}

var errNilOption = errors.New("warren: nil publish option")
