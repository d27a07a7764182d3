package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// renderTree draws the supervision tree as tree(1) does, one actor a line:
//
//	name (kind, strategy) status restarts=N [detail]
func renderTree(w io.Writer, root *registry.TreeNode, p palette) error {
	var b strings.Builder
	var draw func(n *registry.TreeNode, prefix, branch, indent string)
	draw = func(n *registry.TreeNode, prefix, branch, indent string) {
		b.WriteString(prefix + branch + treeLine(n, p) + "\n")
		for i, c := range n.Children {
			if i == len(n.Children)-1 {
				draw(c, prefix+indent, "└── ", "    ")
			} else {
				draw(c, prefix+indent, "├── ", "│   ")
			}
		}
	}
	draw(root, "", "", "")
	_, err := io.WriteString(w, b.String())
	return err
}

func treeLine(n *registry.TreeNode, p palette) string {
	kind := string(n.Kind)
	if n.Strategy != "" {
		kind += ", " + n.Strategy
	}
	line := fmt.Sprintf("%s (%s) %s restarts=%d", n.Name, kind, p.paint(string(n.Status), statusColor(n.Status)), n.Restarts)
	if n.Detail != "" {
		line += " [" + oneLine(n.Detail) + "]"
	}
	return line
}

func statusColor(s registry.ActorStatus) sgr {
	switch s {
	case registry.Running:
		return green
	case registry.Restarting, registry.Stopping:
		return yellow
	}
	return red
}

// renderConnections prints GET /connections as a table.
func renderConnections(w io.Writer, rows []supervisor.AdminConnection, p palette) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ID\tROLE\tZONE\t%s\tAVAILABLE\tATTEMPTS\tCHANNELS\tFLOATS\tSTICKIES\tURI\tLAST_ERROR\n", p.paint("STATE", noColor))
	for _, c := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", cell(c.ID), cell(string(c.Role)), cell(c.Zone),
			p.paint(connState(c), connColor(c.State)), yesNo(c.Available), c.Attempts, c.Channels, c.Floats, c.Stickies,
			cell(c.URI), cell(c.LastError))
	}
	return tw.Flush()
}

// connState is c's STATE cell: its state, "(draining)" added while its
// broker is drained.
func connState(c supervisor.AdminConnection) string {
	if c.Draining {
		return cell(string(c.State)) + " (draining)"
	}
	return cell(string(c.State))
}

func connColor(s registry.ConnState) sgr {
	switch s {
	case registry.Connected:
		return green
	case registry.Connecting, registry.Blocked:
		return yellow
	}
	return red
}

// renderChannels prints GET /channels as a table.
func renderChannels(w io.Writer, rows []supervisor.AdminChannel, p palette) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ID\tCONSUMER\tTYPE\tBROKER\tZONE\t%s\tRECONNECT\n", p.paint("STATE", noColor))
	for _, c := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(c.ID), cell(c.Consumer), cell(string(c.Type)),
			cell(c.Broker), cell(c.Zone), p.paint(cell(string(c.State)), assignColor(c.State)), yesNo(c.Reconnect))
	}
	return tw.Flush()
}

func assignColor(s registry.AssignState) sgr {
	switch s {
	case registry.Assigned, registry.Prechannel:
		return green
	case registry.Waiting, registry.Reconnecting, registry.Moving:
		return yellow
	}
	return red
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// cell shows an empty value as "-".
func cell(s string) string {
	if s = oneLine(s); s == "" {
		return "-"
	}
	return s
}

// oneLine folds newlines and tabs, which would break a line or a table, into spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// elapsed prints a duration the way a person reads it: to the millisecond,
// or to the microsecond below one ("in 0s" said nothing).
func elapsed(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// meanMs prints a mean time given in milliseconds as elapsed does, and
// "-" for none yet.
func meanMs(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return elapsed(time.Duration(ms * float64(time.Millisecond)))
}
