// Package nodes is Kazoo's kz_nodes for a Warren tree: the tree's "nodes"
// actor advertises this node on Kazoo's "nodes" exchange the way every
// Kazoo node does (kapi_nodes advertise, [Advertise]) and records the
// advertisements of the others, Kazoo's and Warren's, in the registry's
// nodes table.
//
// # What goes on the wire
//
// Every period (Kazoo's 5 s plus up to 10 s at random, or [Config.Period])
// the actor publishes, while the local zone has a primary broker (as
// kz_nodes does), through the tree's publishers, to exchange "nodes"
// (fanout) with an empty routing key, a JSON envelope with Event-Category
// "nodes", Event-Name "advertise", App-Name "warren", App-Version, Node,
// Msg-ID, and kz_nodes' fields: Expires (the period in ms), Zone, Version,
// Used-Memory (the Go runtime's memory), Processes (goroutines) and WhApps
// (the tree's listeners and pools, as {"name": {"Startup": s}}).
//
// # What it records
//
// A listener of its own ("nodes_listener": an exclusive, auto-deleted queue
// bound to "nodes") hands every advertisement to the actor, which writes
// the sender's row (registry.Node) with the expiry kz_nodes gives it:
// Expires × 1.25 after it was heard. One timer, set to the earliest expiry,
// forgets nodes not heard again; nothing polls.
//
// # Owner
//
// The nodes actor is the only writer of the nodes table
// (registry.NodesWriter).
package nodes
