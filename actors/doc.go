// Package actors holds what Warren's actors share with the broker protocol,
// and the actors that keep that protocol: the connection state machine of
// one broker (Kazoo's kz_amqp_connection), the connections registry actor
// (kz_amqp_connections), the channel-assignments actor (kz_amqp_assignments)
// and the bootstrap actor (kz_amqp_bootstrap). [Env] is what every actor
// shares, [Env.Lifecycle] the middleware that keeps each actor's row of the
// actors table, and [Link] the socket under a connection that Warren closes
// when a write outlives its deadline or stalls.
//
// The actors built on this protocol live in subpackages: listener (Kazoo's
// gen_listener), publish (the publishers pool, with confirms) and rpc (the
// RPC worker pool, kz_amqp_worker). Package kazoo holds Kazoo's wire format.
// This package imports none of them.
//
// # Pure cores
//
// The decisions of the two central actors are pure functions over plain
// values, table-tested without a broker or an actor: the connection's state
// machine (connection_fsm.go: connFSM.next takes the state and one event and
// returns the next state and the actions the actor carries out) and the
// assignments' placement rules (assignments_placement.go: pickBroker,
// nextWaiter, channelsToAsk, surplus, wantOnUp, movesOnDown, exceptionRetry,
// classifyClose). The two the assignments actor needs for every channel
// opened, nextWaiter and channelsToAsk, it answers from an index of its
// waiting consumers instead (assignments_waiting.go), which its tests
// check against the rules over a scan of every consumer.
//
// # Ownership
//
// Every actor struct opens with a comment naming what it owns, which registry
// table it writes and where its blocking work runs. Actors never block their
// mailbox on network I/O: dials, declares and channel opens run in goroutines
// that report back with a message, tagged with a generation number so that a
// late result from an abandoned attempt is recognised and cleaned up.
// Generations come from one counter of the process ([NextGeneration]), so a
// result that reaches a restarted or respawned actor is recognised too.
//
// # Consumers
//
// Any actor can hold an AMQP channel: it sends [RequestChannel] to the
// assignments actor and receives [ChannelAssigned] (and [ChannelLost] when
// the channel dies). The channel is then owned by that consumer alone.
package actors
