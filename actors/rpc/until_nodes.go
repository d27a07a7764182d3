package rpc

import (
	"slices"

	"github.com/warrenmq/warren/registry"
)

// NodeScope says which nodes of an app [AppNodes] counts: Kazoo's
// kz_nodes:whapp_count and whapp_zone_count behind call_collect's Until
// forms {Kapp, IncludeFederated, IsShared}.
type NodeScope struct {
	// Zone is the local zone, whose nodes are counted unless AllZones.
	Zone string
	// AllZones counts the nodes of every zone (Kazoo's IncludeFederated).
	AllZones bool
	// Shared counts zones, not nodes: the app answers once per zone (its
	// nodes share the work), so one reply is expected from each zone
	// running it with AllZones, else one from the local zone.
	Shared bool
}

// AppNodes counts the nodes of nodes (a snapshot of the registry's nodes
// table, kz_nodes) that run app, within scope.
func AppNodes(nodes []registry.Node, app string, scope NodeScope) int {
	count, zones := 0, map[string]bool{}
	for _, n := range nodes {
		if !slices.Contains(n.Apps, app) || !scope.AllZones && n.Zone != scope.Zone {
			continue
		}
		count++
		zones[n.Zone] = true
	}
	if scope.Shared {
		return len(zones)
	}
	return count
}

// UntilNodes collects one reply per node running app within scope, as
// counted now in nodes (Kazoo's call_collect with Until = Kapp): with no
// such node, CallCollect returns at once with no reply, unpublished.
// supervisor.Tree.CallCollectApp counts with the tree's nodes table, zone by
// zone.
func UntilNodes(nodes []registry.Node, app string, scope NodeScope) Until {
	return UntilCount(AppNodes(nodes, app, scope))
}
