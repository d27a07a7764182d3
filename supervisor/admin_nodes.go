package supervisor

import "github.com/warrenmq/warren/registry"

// adminNodes is GET /nodes: every node of the installation heard on
// Kazoo's "nodes" exchange, this one included while it advertises, ordered
// by name. Its rows carry no credentials (a Kazoo node's AMQP-Broker is
// masked when it is recorded).
func adminNodes(reg *registry.Registry) []registry.Node {
	out := reg.Nodes()
	if out == nil {
		out = []registry.Node{}
	}
	return out
}
