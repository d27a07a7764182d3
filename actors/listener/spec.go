package listener

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/registry"
)

// Listener defaults.
const (
	DefaultPrefetch    = 50 // Kazoo's [amqp] prefetch
	DefaultWorkers     = 4  // Kamailio's amqp_consumer_processes is 4
	DefaultEventKey    = "Event-Category"
	DefaultEventSubkey = "Event-Name"
)

// AckPolicy says when a listener acknowledges a delivery.
type AckPolicy int

const (
	// AckAfterHandler acks once the handler returned nil; a handler error
	// or panic is settled by the listener's Retry and OnError policies
	// (Kamailio's wait_for_consumer_ack). The default.
	AckAfterHandler AckPolicy = iota
	// AckAuto acks each delivery as it arrives, before it is dispatched
	// (Kazoo's default no_ack; loses in-flight messages on a crash). Unlike
	// the broker's no_ack, the prefetch still bounds what the client buffers.
	AckAuto
	// AckOnReceive acks each delivery before its handler runs (Kazoo's
	// auto_ack=true).
	AckOnReceive
	// AckManual leaves the decision to the handlers: Delivery.Ack, Nack
	// or Reject, once per delivery (the first route to decide wins).
	// A delivery no handler decided on is settled by the listener when
	// they all returned: after an error, by Retry and OnError; after nil,
	// requeued once, then OnError (see settleManual). Duplicates (Dedup),
	// events without a route and unreadable payloads are settled by the
	// listener as under AckAfterHandler.
	AckManual
)

func (p AckPolicy) String() string {
	switch p {
	case AckAuto:
		return "auto"
	case AckOnReceive:
		return "on_receive"
	case AckManual:
		return "manual"
	default:
		return "after_handler"
	}
}

// Spec declares a listener: its queue, bindings, consume options,
// channel placement and handlers (Kazoo's gen_listener start params,
// Kamailio's kazoo_subscribe JSON).
type Spec struct {
	Name string // actor name and listeners-table key; required, no "/"
	App  string // application name shown with its channel

	Queue    QueueSpec
	Bindings []Binding
	Consume  ConsumeOptions
	Prefetch int // QoS prefetch count; 0 means DefaultPrefetch, negative none

	Channel registry.ChannelType // Float (default) or Sticky
	Broker  string               // broker id for a Sticky channel
	Zone    string               // zone of a Float channel; defaults to the local zone
	// Tag asks for a broker of the zone carrying that tag (Kazoo's
	// broker_tag), hidden ones included (actors.RequestChannel.Tag); a
	// Sticky channel may name a Tag instead of a Broker.
	Tag string

	Ack          AckPolicy
	Workers      int  // handlers running at once; 0 means DefaultWorkers
	OrderedByKey bool // deliveries of one routing key are handled in order, one at a time

	// Retry runs a failed handler again, in process, before OnError
	// decides (AckAfterHandler and AckManual only). See RetryPolicy for its defaults.
	Retry RetryPolicy
	// OnError is what becomes of a delivery whose handler failed for good
	// (after Retry), panicked, or that no handler can read. Defaults to
	// DeadLetter.
	OnError ErrorPolicy
	// Dedup, with a Window, acks without running the handler a delivery
	// whose MessageId (else Msg-ID) was handled successfully within the
	// window. Off by default.
	Dedup DedupSpec

	EventKey    string // JSON key of the event category; defaults to Event-Category
	EventSubkey string // JSON key of the event name; defaults to Event-Name

	// Handlers route JSON events by category and name. Under Dispatch
	// DispatchAll (the default) every route matching an event runs;
	// under DispatchOne only the most specific one. Routes can be added
	// and removed at run time (AddRoute, RemoveRoute).
	Handlers []Route
	Dispatch DispatchMode
	// HandleEvent, when set, sees every delivery a handler can read
	// (Kazoo's handle_event/2): each JSON event, matched by a route or
	// not, and each payload that is not JSON (Envelope nil). It runs
	// alongside the routes, as one more of them: its error or panic
	// fails the delivery as theirs do.
	HandleEvent Handler
	Raw         Handler  // handler of payloads that are not JSON (malformed JSON included); nil rejects them unless HandleEvent takes them
	Defaults    Defaults // envelope defaults for replies

	// Federate, for a listener spawned with Tree.SpawnListener, also
	// consumes from every broker of the other zones (Kazoo's federated
	// bindings): one federator per remote broker, a listener of its own on
	// a sticky channel to that broker, with this queue's settings (named
	// "<queue>-<local zone>" there), these bindings and the bindings added
	// at run time. Their deliveries reach these handlers with Delivery.Zone
	// and Delivery.Broker saying where they came from, and a reply goes
	// back through that broker.
	Federate bool

	// Set on a federator's spec only (FederatorSpec).
	parent         string // the federated listener's name
	replyOnChannel bool   // replies go out on the federator's own channel, to its broker
}

// FederatorSpec is the spec of the federator of the federated listener
// parent on broker (of zone, seen from localZone): named
// "<parent>@<broker>", on a sticky channel to broker, its queue named
// "<queue>-<localZone>" (Kazoo's listener_federator) or, for a queue the
// parent leaves unnamed, chosen once like any, and with parent's bindings,
// handlers and options.
func FederatorSpec(parent Spec, broker, zone, localZone string) Spec {
	f := parent
	f.Name = parent.Name + "@" + broker
	f.Channel, f.Broker, f.Zone = registry.Sticky, broker, zone
	f.Federate = false
	f.Bindings = append([]Binding(nil), parent.Bindings...)
	if parent.Queue.Name != "" {
		f.Queue.Name = parent.Queue.Name + "-" + localZone
	}
	f.Consume.Tag = "" // normalize names it after the federator
	f.parent, f.replyOnChannel = parent.Name, true
	return f
}

// QueueSpec declares the listener's queue. An empty Name gets a name chosen
// once when the listener is made ("warren-<listener>-<hex>"), which every
// reconnect declares again: make such a queue Exclusive or AutoDelete so
// that it goes away with the listener.
//
// # AutoDelete
//
// RabbitMQ deletes an AutoDelete queue when its last consumer goes, and
// never one that was not consumed. So before it declares an AutoDelete
// queue the listener checks that the exchanges of its bindings exist
// (declaring those with Binding.Declare): a missing exchange (404) or one
// of other flags (406) fails the replay before the queue exists, and
// nothing is left on the broker. A refusal after the declare (a bind's
// 403, a consume refused) leaves the queue until it is consumed once or
// deleted. An exchange the channel's connection declared itself (the
// configured exchanges, those of Tree.DeclareExchange) is not checked
// again (actors.ExchangeSet): if another client deleted it since, the bind
// is refused after the declare, as above. An Exclusive queue goes with its
// connection.
type QueueSpec struct {
	Name       string
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Args       amqp.Table // x-message-ttl, x-dead-letter-exchange, x-max-length, x-queue-type, ...
}

// anonymousQueueName names the queue of a listener whose spec names none:
// "warren-<listener>-<16 hex digits>" (RabbitMQ keeps "amq." for itself).
func anonymousQueueName(listener string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "warren-" + listener + "-" + hex.EncodeToString(b[:])
}

// outlivesChannel reports whether the queue stays on the broker when the
// channel that declared it closes.
func (q QueueSpec) outlivesChannel() bool { return !q.Exclusive && !q.AutoDelete }

// Binding binds the listener's queue to an exchange.
type Binding struct {
	Exchange   string
	RoutingKey string
	Args       amqp.Table // for headers exchanges: x-match and the header values
	// Declare, when set, declares the exchange before binding (with Kind
	// and the flags below); otherwise the exchange must exist.
	Declare    bool
	Kind       string // direct, topic, fanout, headers
	Durable    bool
	AutoDelete bool
	Internal   bool
}

func (b Binding) String() string { return b.Exchange + "/" + b.RoutingKey }

func (b Binding) same(o Binding) bool {
	return b.Exchange == o.Exchange && b.RoutingKey == o.RoutingKey
}

// ConsumeOptions are basic.consume's options.
type ConsumeOptions struct {
	Exclusive bool
	Tag       string // consumer tag; generated from the listener's name when empty
	Priority  int    // x-priority; 0 means none
	Args      amqp.Table
}

// normalize validates the spec and fills its defaults.
func (s Spec) normalize() (Spec, error) {
	if s.Name == "" || strings.ContainsAny(s.Name, "/$") {
		return s, fmt.Errorf("warren: listener %q: a name without '/' or '$' is required", s.Name)
	}
	if s.Prefetch == 0 {
		s.Prefetch = DefaultPrefetch
	}
	if s.Prefetch > math.MaxUint16 {
		return s, fmt.Errorf("warren: listener %s: prefetch %d: AMQP allows at most %d", s.Name, s.Prefetch, math.MaxUint16)
	}
	if s.Workers <= 0 {
		s.Workers = DefaultWorkers
	}
	if err := s.normalizeFailure(); err != nil {
		return s, err
	}
	if s.EventKey == "" {
		s.EventKey = DefaultEventKey
	}
	if s.EventSubkey == "" {
		s.EventSubkey = DefaultEventSubkey
	}
	if s.Channel == "" {
		s.Channel = registry.Float
	}
	if s.Channel == registry.Sticky && s.Broker == "" && s.Tag == "" {
		return s, fmt.Errorf("warren: listener %s: a sticky channel needs a broker or a tag", s.Name)
	}
	if s.Consume.Tag == "" {
		s.Consume.Tag = "warren." + s.Name
	}
	for i, b := range s.Bindings {
		if b.Exchange == "" {
			return s, fmt.Errorf("warren: listener %s: binding #%d: exchange is required (the default exchange needs no binding)", s.Name, i+1)
		}
		if b.Declare && b.Kind == "" {
			return s, fmt.Errorf("warren: listener %s: binding #%d (%s): declaring an exchange needs its kind", s.Name, i+1, b)
		}
	}
	for _, r := range s.Handlers {
		if r.Handler == nil {
			return s, fmt.Errorf("warren: listener %s: route %s has no handler", s.Name, r)
		}
	}
	if s.Ack < AckAfterHandler || s.Ack > AckManual {
		return s, fmt.Errorf("warren: listener %s: unknown ack policy %d", s.Name, s.Ack)
	}
	if s.Dispatch < DispatchAll || s.Dispatch > DispatchOne {
		return s, fmt.Errorf("warren: listener %s: unknown dispatch mode %d", s.Name, s.Dispatch)
	}
	if len(s.Handlers) == 0 && s.Raw == nil && s.HandleEvent == nil {
		return s, fmt.Errorf("warren: listener %s: no handler", s.Name)
	}
	return s, nil
}
