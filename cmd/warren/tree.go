package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/registry"
)

func newTreeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tree",
		Example: "  warren tree\n  warren tree --admin 127.0.0.1:7117 --json\n  warren tree -w --interval 1s",
		Short:   "Show the supervision tree of a running warren",
		Long: "tree prints the live supervision tree (GET /tree of the admin API), one actor\n" +
			"a line: name (kind, strategy) status restarts=N [detail].",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var root registry.TreeNode
			return a.show(cmd, "/tree", &root, func(w io.Writer, p palette) error { return renderTree(w, &root, p) })
		},
	}
	addShowFlags(cmd)
	return cmd
}
