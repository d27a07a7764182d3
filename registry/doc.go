// Package registry keeps Warren's shared state in go-memdb tables, in place of
// the ETS tables of Kazoo's kz_amqp application.
//
// # Tables and owners
//
// Each table has exactly one writer; everybody else (other actors, the
// admin API, the CLI through it, tests) reads lock-free snapshots. The
// types hold this: [New] returns the registry (reads and waits only) and
// one [Writers] value, a typed writer per table, which the tree (package
// supervisor) hands to each table's owner when it builds itself:
//
//	connections   the "connections" actor (Kazoo's kz_amqp_connections); each
//	              connection actor reports its state to it as a message
//	assignments   the "assignments" actor (kz_amqp_assignments)
//	actors        each actor its own row, through the lifecycle middleware that
//	              every Warren actor carries
//	listeners     each listener its own row
//	publishers    each publisher actor its own row
//	workers       each RPC worker its own row
//	nodes         the "nodes" actor (Kazoo's kz_nodes): every node heard on
//	              the nodes exchange, this one's own advertisement included
//	topology      the "bootstrap" actor: exchanges and exchange-to-exchange
//	              bindings declared at run time, replayed on every connect
//
// The connections, assignments and topology writers go to their one actor
// only (actors.NewConnectionsProps, actors.NewAssignmentsProps,
// actors.NewBootstrapProps); the other four
// travel in actors.Env, because embedding code spawns listeners from the
// tree's Env too. No go-memdb type is part of the API.
//
// Every table is listed in one map, tables in schema.go; each table's
// schema, row type, writer and reads live in a file named after it.
//
// Rows are immutable values: a writer inserts a fresh copy, never mutates a
// stored row (go-memdb computes old index keys from the stored object).
//
// # Waiting
//
// Callers wait on go-memdb watch channels bounded by a context; nothing
// polls. [Registry.Wait] runs a condition on a [Snapshot] and runs it again
// each time something it read there changed; [Registry.WaitAvailable],
// [Registry.WaitAssigned] and the other Wait methods are built on it.
// [Registry.Changed] is one channel for "any table changed" (the observer
// waits on it).
package registry
