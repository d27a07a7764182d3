// Package actors holds Warren's worker actors: the connection state machine
// of one broker (Kazoo's kz_amqp_connection), the connections registry actor
// (kz_amqp_connections), the channel-assignments actor (kz_amqp_assignments),
// the bootstrap actor (kz_amqp_bootstrap), listeners (gen_listener),
// publishers (kz_amqp_channel's publish path, with confirms) and RPC workers
// (kz_amqp_worker). Package kazoo beside it holds Kazoo's wire format.
//
// # Ownership
//
// Every actor struct opens with a comment naming what it owns, which registry
// table it writes and where its blocking work runs. Actors never block their
// mailbox on network I/O: dials, declares and channel opens run in goroutines
// that report back with a message, tagged with a generation number so that a
// late result from an abandoned attempt is recognised and cleaned up.
//
// # Consumers
//
// Any actor can hold an AMQP channel: it sends [RequestChannel] to the
// assignments actor and receives [ChannelAssigned] (and [ChannelLost] when
// the channel dies). The channel is then owned by that consumer alone.
package actors
