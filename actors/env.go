package actors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors/tracing"
	"github.com/warrenmq/warren/registry"
)

// Fixed names of the tree (Kazoo's kz_amqp_sup children).
const (
	RootName        = "warren"
	ConnectionsName = "connections"
	ConnSupName     = "connection_sup"
	FederatedName   = "federated_listeners_sup"
	AssignmentsName = "assignments"
	BootstrapName   = "bootstrap"
	ListenersName   = "listeners"
	PublishersName  = "publishers"
	WorkersName     = "workers"
)

// Env carries what every Warren actor shares. It is safe for concurrent use.
type Env struct {
	System    *actor.ActorSystem
	Registry  *registry.Registry // reads and waits
	Log       *slog.Logger
	LocalZone string

	// The writers of the tables whose rows each actor writes about itself,
	// handed over by the tree (registry.Writers): Actors to the lifecycle
	// middleware, the others to each listener, publisher and RPC worker.
	// The connections and assignments writers are not here: only their
	// one actor gets them (NewConnectionsProps, NewAssignmentsProps).
	Actors     registry.ActorsWriter
	Listeners  registry.ListenersWriter
	Publishers registry.PublishersWriter
	Workers    registry.WorkersWriter

	// SplitPublishing gives each broker a second connection for publishing
	// (the tree sets it when it runs publishers or RPC workers): channels
	// asked for with registry.Publish come from it.
	SplitPublishing bool

	// Stopping is closed when the tree starts to shut down: goroutines that
	// wait on an actor (a request's future) give up then, so that none
	// outlives the tree. Nil never closes.
	Stopping <-chan struct{}

	// Observe, when set, receives timings from the publish and call paths
	// for the tree's metrics.
	Observe *Observer

	// Tracer, when set, traces publishes, deliveries and calls and
	// carries their trace context in AMQP headers; nil is tracing off
	// (supervisor.WithTracerProvider sets it).
	Tracer *tracing.Tracer

	// Replies, when set, publishes listeners' replies (the tree sets it to
	// its publishers); nil makes a listener reply on its own channel.
	Replies ReplyPublisher
	// ZoneReplies, when set, publishes the replies that must reach another
	// zone than the listener's channel's (the request came from there:
	// kazoo.ReplyAddress), or that carry headers (the tree sets it to its
	// publishers of each zone); nil makes such a reply fail, or go out on
	// the listener's own channel when that is in the right zone.
	ZoneReplies ZoneReplies

	// Closing counts network closes still running in goroutines; shutdown
	// waits for it so that no connection outlives the tree.
	Closing sync.WaitGroup
}

// ReplyPublisher publishes replies for listeners. The tree provides one
// backed by its publishers (buffered across reconnects); without it a
// listener publishes on its own channel.
type ReplyPublisher interface {
	PublishReply(ctx context.Context, exchange, routingKey string, body []byte, correlationID, contentType string) error
}

// PID returns the PID of the tree's child called name ("connections", ...).
func (e *Env) PID(name string) *actor.PID { return e.System.NewLocalPID(RootName + "/" + name) }

// Send delivers msg to pid from outside any actor (goroutines use it to
// report results back to their actor).
func (e *Env) Send(pid *actor.PID, msg any) { e.System.Root.Send(pid, msg) }

// Go runs a network close (or other cleanup) in a goroutine that shutdown
// waits for.
func (e *Env) Go(fn func()) {
	e.Closing.Add(1)
	go func() {
		defer e.Closing.Done()
		fn()
	}()
}

// stopping reports whether the tree has begun to shut down.
func (e *Env) stopping() bool {
	select {
	case <-e.Stopping:
		return true
	default:
		return false
	}
}

// ZonePoolName names the pool of kind (PublishersName, WorkersName) that
// serves zone, another than the local one: "publishers@east".
func ZonePoolName(kind, zone string) string { return kind + "@" + zone }

// Observer receives what the hot paths time, for metrics: each hook is
// called from the caller's goroutine and must not block. A nil Observer
// (or hook) costs a pointer test.
type Observer struct {
	// ConfirmWait is called when a confirmed publish starts waiting for the
	// broker's confirm (+1) and when the wait ends (-1, with how long it
	// took and how it ended: "acked", "nacked", "returned", "unconfirmed").
	ConfirmWait func(delta int, took time.Duration, outcome string)
	// Call is called when a call or call-collect ends: its zone ("" the
	// local one), how long it took and how it ended ("ok", "timeout",
	// "error").
	Call func(zone string, took time.Duration, outcome string)
}
