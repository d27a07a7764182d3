// Package supervisor starts and embeds Warren's supervision tree, the Go
// home of Kazoo's kz_amqp_sup:
//
//	warren                      one_for_one, 5 restarts in 10s (escalates past that)
//	├── connections             worker: the connections table's writer
//	├── connection_sup          simple_one_for_one, 5/10s: one connection actor per broker
//	├── federated_listeners_sup simple_one_for_one, 5/10s: listener federators
//	├── assignments             worker: the assignments table's writer
//	├── bootstrap               worker: adds the configured brokers, waits for the local zone
//	├── listeners               simple_one_for_one, 5/10s: listeners spawned through the tree
//	└── (pools)                 one_for_one, 5/10s each: publishers, RPC workers
//
// [Start] builds the tree from a [Config] (usually read by [LoadINI] from
// Kazoo's config.ini) and returns a [*Tree] handle: its registry for reads,
// a snapshot of the tree, readiness, and Shutdown.
//
// Restart intensity follows OTP, not protoactor: a supervisor whose child
// fails more than its intensity allows fails itself, up to the root, whose
// failure ends the tree ([Tree.Done]). protoactor's own strategies would
// silently stop the child instead.
package supervisor
