package rpc

import (
	"errors"
	"fmt"
	"time"

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

var (
	// ErrCallTimeout is returned when no (or not enough) replies arrived in
	// time. CallCollect returns it with the replies it did collect.
	ErrCallTimeout = errors.New("warren: call timed out waiting for replies")
	// ErrStopped is returned when the tree runs no RPC workers.
	ErrStopped = errors.New("warren: no RPC workers running")
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
}

// AllZones as Request.Zone makes Tree.CallCollect ask every zone. It is
// publish.AllZones too: one spelling of "every zone" for calls and
// publishes (publish.ToZone(publish.AllZones)).
const AllZones = "*"

// Until says when CallCollect has enough replies.
type Until func(replies []kazoo.Envelope) bool

// UntilCount collects n replies.
func UntilCount(n int) Until {
	return func(r []kazoo.Envelope) bool { return len(r) >= n }
}

// CallError reports a call that could not be made.
type CallError struct {
	MsgID string
	Op    string
	Err   error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("warren: call %s: %s: %v", e.MsgID, e.Op, e.Err)
}
func (e *CallError) Unwrap() error { return e.Err }
