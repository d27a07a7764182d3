// Package publish holds Warren's publishers pool, the publishing side of
// Kazoo's kz_amqp_channel: [Pool], built by [NewPool] from a [Config],
// whose publisher actors ([Pool.Props]) each hold a channel in confirm mode
// and, through a child, one without confirms.
//
// [Pool.Publish] writes from the caller's goroutine, never through a
// mailbox, on the first free channel; with [Confirm] it waits for the
// broker's ack and fails with [ErrNacked], a [*ReturnedError] ([Mandatory])
// or [ErrNotConfirmed]. While no channel is usable (no broker up, or the
// broker blocked publishing) a publish waits, bounded by the pool's buffer
// ([ErrBufferFull]), its maximum wait ([ErrNoChannel]) and its ctx. Only
// publishes sharing an [OrderKey] keep their order. Every write is guarded
// by its connection's socket (actors.Link): a write that outlives its ctx
// closes the socket rather than hang.
//
// # At-least-once
//
// A confirmed publish whose channel closes before the broker's ack (its
// connection closed, as when a node stops, or was lost; or Warren closed
// the channel) is written again on another channel, with the same
// MessageId and the header [ResentHeader], until it is acked or its ctx,
// the pool's ConfirmTimeout or [Pool.Stop] ends it: confirmed
// publishing is at-least-once. A message the broker routed before its
// channel died is routed again; a listener's dedup window, keyed by
// MessageId, suppresses it. Every confirmed publish therefore has a
// MessageId (generated when the caller gives none). A nack is not resent.
// [Pool.WaitIdle] waits until no publish is in progress (shutdown). A
// publisher asked to move (actors.ChannelAssigned.MovedFrom) writes on its
// new channel at once and gives the old one back once the confirms
// outstanding on it came in.
//
// [Pool.PublishReply] makes the pool the listeners' reply publisher
// (actors.ReplyPublisher). supervisor.Tree.Publish is the usual way in.
// Each publisher actor writes its own row of the registry's publishers
// table.
//
// # Traces
//
// In a tree with a tracer provider (actors.Env.Tracer), Publish and
// PublishDeferred run in a producer span "publish <exchange>", the child of
// ctx's span, whose context the message carries in its traceparent header
// (a resend carries the same); a failure records its class (nacked,
// returned, not_confirmed, timeout…). Without one the path allocates
// nothing more (BenchmarkPublish).
package publish
