package supervisor

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors/nodes"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/registry"
)

// nodesProps returns the props of the tree's "nodes" actor (Kazoo's
// kz_nodes): it advertises through the tree's publishers, fire and forget
// as kz_nodes does, and is the one writer of the nodes table. Nil when the
// tree runs none (NodesConfig.Disabled, or no publishers).
func (t *Tree) nodesProps(cfg Config, w registry.NodesWriter) (*actor.Props, error) {
	if _, ok := t.pubs.local(); cfg.Nodes.Disabled || !ok {
		return nil, nil
	}
	nc := nodes.Config{
		Node:    cfg.Nodes.node(cfg.RPC.Node),
		Zone:    t.env.LocalZone,
		Version: cfg.Nodes.Version,
		Period:  cfg.Nodes.Period,
		Silent:  cfg.Nodes.Silent,
		Publish: func(ctx context.Context, body []byte) error {
			return t.Publish(ctx, nodes.Exchange, nodes.RoutingKey, body, publish.ContentType("application/json"))
		},
	}
	return nodes.NewProps(t.env, w, nc)
}

// Nodes lists the nodes of the installation heard on Kazoo's "nodes"
// exchange, this one included while it advertises (`warren nodes`).
func (t *Tree) Nodes() []registry.Node { return t.env.Registry.Nodes() }
