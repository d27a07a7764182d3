// Package publish holds Warren's publishers pool, the publishing side of
// Kazoo's kz_amqp_channel: [Pool], built by [NewPool] from a [PoolSpec],
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
// [Pool.PublishReply] makes the pool the listeners' reply publisher
// (actors.ReplyPublisher). supervisor.Tree.Publish is the usual way in.
// Each publisher actor writes its own row of the registry's publishers
// table.
package publish
