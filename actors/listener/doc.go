// Package listener holds Warren's listeners: Kazoo's gen_listener. A
// listener consumes one queue and hands each delivery to the [Handler]s
// whose [Route] matches the event's category and name.
//
// A [Spec] declares the queue ([QueueSpec]), its [Binding]s, the consume and
// acknowledgement options, the channel's placement (float or sticky) and the
// handlers; [Props] returns the actor. Spawn it under the tree's listeners
// supervisor with supervisor.Tree.SpawnListener, or under an actor of your
// own. Bindings can be added and removed at run time ([AddBinding],
// [RemoveBinding]).
//
// A listener is a consumer of the assignments protocol (package actors): on
// every channel it is given it replays its recorded topology (exchange
// declares, queue declare, QoS, bindings, consume; Kazoo's kz_amqp_history).
// Deliveries never pass through its mailbox: a goroutine per channel hands
// them to a bounded pool of handler goroutines, one per routing key at a
// time with Spec.OrderedByKey; a handler goroutine waits a moment for the
// next delivery before it ends, so a steady flow reuses the same few. Acks
// go on the delivery's own channel; those of a channel the listener has
// lost are dropped and counted as stale. [Delivery.Reply] answers a request
// the Kazoo way, through the tree's publishers when it has them, back to
// the zone the request came from when the request says so (a consumer://
// Server-ID, AMQP-Broker, AMQP-Broker-Zone: [kazoo.ReplyAddress]). A
// federator's deliveries carry AMQP-Broker (the remote broker's id) and
// AMQP-Broker-Zone, as Kazoo's listener_federator adds them.
//
// # Traces
//
// In a tree with a tracer provider (actors.Env.Tracer), each delivery is
// handled in a process span, the child of the span context its
// traceparent header carries (package actors/tracing); the handlers' ctx
// holds it, so what a handler publishes, calls or replies continues the
// trace; failure log lines carry trace_id ([Delivery.TraceID]). Without
// one nothing is started, read or allocated for it.
//
// # Dispatch
//
// As in Kazoo, every matching route runs ([DispatchAll], the default):
// {Cat, Name}, {"*", Name}, {Cat, "*"} and {"*", "*"}, each on a goroutine
// of its own while a worker slot is free (Spec.Workers bounds them all),
// with Spec.HandleEvent (Kazoo's handle_event), which sees every delivery.
// The delivery is settled once, when all have returned: acked if all
// succeeded, else under the failure policy below. [DispatchOne] runs only
// the most specific route (Kamailio's event_route order). Routes can be
// added and removed at run time ([AddRoute], [RemoveRoute]); a delivery
// loads the route table once, without a lock. Under [AckManual] handlers
// settle their delivery themselves ([Delivery.Ack], [Delivery.Nack],
// [Delivery.Reject], once); one left undecided is requeued once, then
// failed.
//
// # Failures
//
// A handler that fails is run again on the same delivery ([RetryPolicy]:
// 3 runs, 100 ms then 200 ms apart, jittered; of several routes, only the
// failing ones); a delivery that still fails, whose handler panicked, or
// that no handler can read, is dead-lettered ([DeadLetter], the default):
// published with x-warren-* headers saying why to the queue's dead-letter
// exchange or to "<queue>_error" ([ErrorQueue]), confirmed, then acked.
// [Requeue] gives the broker one redelivery first; [Discard] is Kazoo's
// nack without requeue. [DedupSpec] suppresses redelivered duplicates of
// deliveries handled already.
//
// Each listener writes its own row of the registry's listeners table.
package listener
