// Package rpc holds Warren's RPC worker pool: Kazoo's kz_amqp_worker.
// [NewPool] makes a [Pool] of workers ([Pool.Props]), each holding a channel
// and a reply queue bound to the "targeted" exchange under its own name.
//
// [Pool.Call] publishes a [Request] (a Kazoo envelope) with the worker's
// reply queue as Server-ID and returns the first reply carrying its Msg-ID;
// [Pool.CallCollect] gathers replies until an [Until] ([UntilCount]) holds
// or the deadline passes ([ErrCallTimeout], with what was gathered). With
// Request.DirectReply, Warren peers answer through RabbitMQ's direct
// reply-to. Unlike Kazoo's workers, each worker carries many calls at once,
// told apart by Msg-ID. A call that cannot be made fails with a
// [*CallError] (wrapping [ErrStopped] once every worker has stopped; a
// tree that runs no workers answers ErrStopped itself).
//
// supervisor.Tree.Call, CallCollect and Cast are the usual way in. Each
// worker writes its own row of the registry's workers table.
package rpc
