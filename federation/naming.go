package federation

import (
	"sort"

	"github.com/warrenmq/warren/registry"
)

// QueueName is the queue a federator declares on a remote broker for a
// listener's queue name: Kazoo appends "-<local zone>" so that several zones
// federating into one broker do not share a queue. An empty (server-named)
// queue stays empty, and global names are kept as they are
// (federated_queue_name_is_global).
func QueueName(queue, localZone string, global bool) string {
	if queue == "" || global {
		return queue
	}
	return queue + "-" + localZone
}

// Brokers lists the brokers a federated binding is mirrored to: every broker
// outside the local zone, available or not (kz_amqp_connections:federated_brokers/0),
// ordered by id.
func Brokers(reg *registry.Registry, localZone string) []registry.Connection {
	var out []registry.Connection
	for _, c := range reg.Connections() {
		if c.Zone != localZone {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
