package registry

import "sort"

// TreeNode is one actor of the supervision tree as the CLI shows it.
type TreeNode struct {
	Name     string      `json:"name"`
	Path     string      `json:"path"`
	Kind     ActorKind   `json:"kind"`
	Status   ActorStatus `json:"status"`
	Restarts int         `json:"restarts"`
	Strategy string      `json:"strategy,omitempty"`
	Detail   string      `json:"detail,omitempty"`
	Children []*TreeNode `json:"children"`
}

// Tree builds the tree rooted at path (usually "warren") from one snapshot of
// the actors table. It returns nil when path is not in the table.
func (r *Registry) Tree(path string) *TreeNode {
	rows := r.Actors()
	nodes := make(map[string]*TreeNode, len(rows))
	for _, a := range rows {
		nodes[a.Path] = &TreeNode{Name: a.Name, Path: a.Path, Kind: a.Kind, Status: a.Status,
			Restarts: a.Restarts, Strategy: a.Strategy, Detail: a.Detail, Children: []*TreeNode{}}
	}
	for _, a := range rows {
		if p, ok := nodes[a.Parent]; ok && a.Path != path {
			p.Children = append(p.Children, nodes[a.Path])
		}
	}
	for _, n := range nodes {
		sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Name < n.Children[j].Name })
	}
	return nodes[path]
}
