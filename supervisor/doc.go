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
//	├── publishers              one_for_one, 5/10s: publishers-1…N, behind [Tree.Publish]
//	└── workers                 one_for_one, 5/10s: workers-1…N, RPC workers behind [Tree.Call]
//
// [Start] builds the tree from a [Config] (usually read by [LoadINI] from
// Kazoo's config.ini) and returns a [*Tree] handle: its registry for reads,
// a snapshot of the tree, readiness, publishing, calls, listeners, and
// Shutdown. Start validates each pool's config with its own package's
// rules (publish.Config, rpc.Config: a bad one fails Start), builds the
// publishers and RPC pools of every zone behind one zone router each, makes
// the local publishers the listeners' reply publisher in the actors' Env,
// then starts the root with its pools in that order. A negative pool size
// runs no such pool.
//
// Restart intensity follows OTP, not protoactor: a supervisor whose child
// fails more than its intensity allows fails itself, up to the root, whose
// failure ends the tree ([Tree.Done]). protoactor's own strategies would
// silently stop the child instead.
//
// [Tree.AdminHandler] is the read-only JSON admin API the warren command
// reads; its routes are one map in admin.go. Its /ui is the observer, a live
// web page of the tree (admin_ui*.go, files embedded from ui/).
package supervisor
