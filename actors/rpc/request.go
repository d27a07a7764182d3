package rpc

import (
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/warrenmq/warren/actors/kazoo"
)

// RPC defaults.
const (
	// DefaultCallTimeout bounds a call whose context has no deadline: Kazoo's
	// kz_amqp_worker and Kamailio's amqp_query_timeout both use 2s.
	DefaultCallTimeout = 2 * time.Second
	// DefaultWorkers is the size of the RPC worker pool.
	DefaultWorkers = 4
	// DirectReplyTo is RabbitMQ's pseudo-queue for replies without a queue.
	DirectReplyTo = "amq.rabbitmq.reply-to"
)

// Request is an RPC request: a Kazoo envelope published to Exchange with
// RoutingKey. Its Msg-ID (made when missing) correlates the replies; its
// Server-ID is set to the worker's reply queue, which is bound to "targeted"
// under that name, so that Kazoo and Kamailio peers answer the Kazoo way.
type Request struct {
	Exchange   string
	RoutingKey string
	Envelope   kazoo.Envelope
	Defaults   kazoo.Defaults // App-Name, App-Version, Node filled in when missing; empty fields take the pool's (Config.Defaults)
	// DirectReply asks Warren peers to answer through RabbitMQ's direct
	// reply-to (amq.rabbitmq.reply-to) with the Msg-ID as correlation id;
	// the request still carries a Server-ID, so others can answer too.
	DirectReply bool
	// Zone sends the request to the brokers of another zone (through the
	// tree's worker of that zone); "" is the local zone. AllZones, for
	// Tree.CallCollect only, asks every zone at once.
	Zone string
	// Pool sends the request through the named workers pool the tree runs
	// (one added with Tree.AddPool, or "workers@<zone>"), on its channels,
	// pinned to its broker or zone; "" the zone's pool. An unknown pool
	// fails the call at once. Zone must then be empty: the pool's zone is
	// its own.
	Pool string

	// Validate, for Call, tells a positive reply from a negative one
	// (Kazoo's VFun): a reply it refuses is counted, and the call keeps
	// waiting until NegativeThreshold of them came, then fails with a
	// [*NegativeError] holding the last one. CallCollect leaves refused
	// replies out of what it gathers. Nil takes every reply.
	Validate func(kazoo.Envelope) bool
	// NegativeThreshold overrides the pool's Config.NegativeThreshold for
	// this call; 0 keeps it.
	NegativeThreshold int
	// Bind binds the worker's reply queue for the duration of the call
	// (Kazoo's call_custom): what the bindings bring in is matched to the
	// call by Msg-ID like any reply, and handed to Relay otherwise. The
	// bindings are removed once the call ended, by its deadline or its
	// cancel too; calls on one worker asking for the same binding share
	// it. A binding's exchange must exist (and not be the default one).
	Bind []Binding
	// Relay is handed, on the caller's goroutine while the call waits,
	// every delivery to the worker's reply queue that answers no call in
	// flight on that worker (Kazoo's relay_to): events a Bind brought in,
	// late replies by Msg-ID. On a worker carrying other calls it also
	// sees what their Bind brought in. Deliveries it is too slow for are
	// dropped (counted late).
	Relay func(kazoo.Envelope)
}

// Binding is one binding of a worker's reply queue for the duration of a
// call (Request.Bind).
type Binding struct {
	Exchange   string
	RoutingKey string
	Args       amqp.Table // for headers exchanges: x-match and the header values
}

// AllZones as Request.Zone makes Tree.CallCollect ask every zone. It is
// publish.AllZones too: one spelling of "every zone" for calls and
// publishes (publish.ToZone(publish.AllZones)).
const AllZones = "*"

// Until says when CallCollect has enough replies. CallCollect asks it
// first with no reply: one that holds then (UntilCount(0), UntilNodes of an
// app no node runs) ends the call at once, unpublished, as Kazoo's
// call_collect with a count of 0 does.
type Until func(replies []kazoo.Envelope) bool

// UntilCount collects n replies.
func UntilCount(n int) Until {
	return func(r []kazoo.Envelope) bool { return len(r) >= n }
}
