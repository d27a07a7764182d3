package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/registry"
)

func newNodesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "nodes",
		Example: "  warren nodes\n  warren nodes --json\n  warren nodes -w",
		Short:   "List the nodes of the installation, Warren's and Kazoo's (Kazoo's sup kz_nodes status)",
		Long: "nodes prints every node heard on Kazoo's \"nodes\" exchange (GET /nodes of the admin API):\n" +
			"its name, zone, kind (warren or kazoo), version, when it was last heard, when it will be\n" +
			"forgotten unless heard again, and its apps (Kazoo's WhApps; a Warren node's listeners and pools).\n" +
			"The node that answers is marked with '*'.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rows []registry.Node
			return a.show(cmd, "/nodes", &rows, func(out io.Writer, p palette) error {
				return renderNodes(out, rows, time.Now(), p)
			})
		},
	}
	addShowFlags(cmd)
	return cmd
}

func renderNodes(w io.Writer, rows []registry.Node, now time.Time, p palette) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "NODE\tZONE\t%s\tVERSION\tHEARD\tEXPIRES\tAPPS\n", p.paint("KIND", noColor))
	for _, n := range rows {
		name := n.Name
		if n.Self {
			name += " *"
		}
		c := yellow
		if n.Kind == registry.NodeWarren {
			c = green
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(name), cell(n.Zone), p.paint(cell(string(n.Kind)), c),
			cell(n.Version), ago(now.Sub(n.Heard)), "in "+roundDur(n.Expires.Sub(now)), cell(strings.Join(n.Apps, ",")))
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no node heard yet)")
	}
	return tw.Flush()
}

// ago says how long ago, in whole seconds.
func ago(d time.Duration) string { return roundDur(d) + " ago" }

func roundDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}
