// Package registry keeps Warren's shared state in go-memdb tables, in place of
// the ETS tables of Kazoo's kz_amqp application.
//
// # Tables and owners
//
// Each table has exactly one writer actor; everybody else (other actors, the
// admin API, the CLI through it, tests) reads in lock-free read transactions:
//
//	connections   the "connections" actor (Kazoo's kz_amqp_connections); each
//	              connection actor reports its state to it as a message
//	assignments   the "assignments" actor (kz_amqp_assignments)
//	actors        each actor its own row, through the lifecycle middleware that
//	              every Warren actor carries
//	listeners     each listener its own row
//	publishers    each publisher actor its own row
//	workers       each RPC worker its own row
//
// Every table is listed in one map, tables in schema.go; each table's
// schema, row type and accessors live in a file named after it.
//
// Rows are immutable values: a writer inserts a fresh copy, never mutates a
// stored row (go-memdb computes old index keys from the stored object).
//
// # Waiting
//
// Callers wait on memdb watch sets bounded by a context ([Registry.WaitAvailable],
// [Registry.WaitAssigned], [Registry.WaitFor]); nothing polls.
package registry
