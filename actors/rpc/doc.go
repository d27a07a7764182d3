// Package rpc holds Warren's RPC worker pool: Kazoo's kz_amqp_worker.
// [NewPool] makes a [Pool] of workers ([Pool.Props]), each holding a channel
// and a reply queue bound to the "targeted" exchange under its own name.
//
// [Pool.Call] publishes a [Request] (a Kazoo envelope) with the worker's
// reply queue as Server-ID and returns the first reply carrying its Msg-ID;
// [Pool.CallCollect] gathers replies until an [Until] ([UntilCount],
// [UntilNodes]) holds or the deadline passes ([ErrCallTimeout], with what
// was gathered). With Request.DirectReply, Warren peers answer through
// RabbitMQ's direct reply-to. Unlike Kazoo's workers, each worker carries
// many calls at once, told apart by Msg-ID. A call that cannot be made
// fails with a [*CallError] (wrapping [ErrStopped] once every worker has
// stopped; a tree that runs no workers answers ErrStopped itself).
//
// # Kazoo's rules
//
// As kz_amqp_worker does:
//
//   - Request.Validate (Kazoo's VFun) tells positive replies from
//     negative ones; a Call fails with a [*NegativeError] once
//     Config.NegativeThreshold (neg_resp_threshold, config.ini's
//     pool_threshold) negatives came, or at its deadline after fewer.
//   - A valid reply carrying Defer-Response: true is held until the
//     deadline; a valid reply without it that comes first wins.
//   - Request.Bind binds the worker's reply queue for one call
//     (call_custom), Request.Relay is handed what the worker receives that
//     answers no call (relay_to).
//   - [UntilNodes] collects one reply per node running an app, as the
//     nodes table (kz_nodes) counts them, per zone or shared
//     (supervisor.Tree.CallCollectApp).
//   - Requests are published mandatory: one that no queue takes comes back
//     (basic.return, matched to its call by correlation id) and the call
//     fails at once with [ErrUnroutable], naming exchange and key.
//
// Validate, the threshold and Defer-Response shape Call; CallCollect only
// leaves the replies Validate refuses out of what it gathers.
//
// supervisor.Tree.Call, CallCollect, CallCollectApp and Cast are the usual way
// in. Each worker writes its own row of the registry's workers table.
//
// # Traces
//
// In a tree with a tracer provider (actors.Env.Tracer), Call and
// CallCollect run in a client span "call <exchange>" whose context the
// request carries (traceparent): the answering listener's process span is
// its child, and each reply is an event of the call's span naming the
// span it was published from. A failure records its class (timeout,
// returned, negative_reply…). Cast is a publish (package publish).
package rpc
