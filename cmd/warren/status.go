package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newStatusCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running warren at a glance: readiness, each zone's primary broker, pools",
		Long: "status prints GET /status of the admin API, as Kazoo's\n" +
			"`sup kazoo_amqp_maintenance connection_summary` does: whether the node is\n" +
			"ready (and why not), each zone with its primary broker and how many of its\n" +
			"brokers are up, and how many listeners, publishers and RPC workers are ready.\n\n" +
			"Its exit code, for scripts (without --watch; with --json too):\n" +
			"  0  ready\n" +
			"  1  the admin API could not be read (no node there, a bad answer)\n" +
			"  2  usage: a bad flag or argument\n" +
			"  3  not ready (the node answered: the reason is printed)\n" +
			"  4  ready but degraded (the node serves, but cannot do everything: printed)",
		Example: "  warren status\n  warren status --admin 127.0.0.1:7117 --json\n" +
			"  warren status >/dev/null && echo ready   # 0 only when ready and not degraded",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s supervisor.AdminStatus
			if err := a.show(cmd, "/status", &s, func(out io.Writer, p palette) error { return renderStatus(out, s, p) }); err != nil {
				return err
			}
			if watch, _ := cmd.Flags().GetBool("watch"); watch {
				return nil // stopped by Ctrl-C: the last state printed is history
			}
			return statusExit(s)
		},
	}
	addShowFlags(cmd)
	return cmd
}

// statusExit is the exit of warren status for s: nil when ready, else an
// *exitStatus with exitNotReady or exitDegraded.
func statusExit(s supervisor.AdminStatus) error {
	switch {
	case !s.Ready:
		return &exitStatus{exitNotReady}
	case s.Degraded != "":
		return &exitStatus{exitDegraded}
	}
	return nil
}

func renderStatus(w io.Writer, s supervisor.AdminStatus, p palette) error {
	switch {
	case s.Ready && s.Degraded != "":
		fmt.Fprintf(w, "%s (local zone %s): %s\n", p.paint("ready, degraded", yellow), s.LocalZone, cell(s.Degraded))
	case s.Ready:
		fmt.Fprintf(w, "%s (local zone %s)\n", p.paint("ready", green), s.LocalZone)
	default:
		fmt.Fprintf(w, "%s (local zone %s): %s\n", p.paint("not ready", red), s.LocalZone, cell(s.Reason))
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ZONE\tLOCAL\tPRIMARY\tBROKERS UP\tDRAINING")
	for _, z := range s.Zones {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", cell(z.Name), yesNo(z.Local), cell(z.Primary), z.Available, z.Brokers,
			cell(strings.Join(z.Draining, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	count := func(c supervisor.AdminCount, ready string) string {
		out := fmt.Sprintf("%d/%d %s", c.Ready, c.Total, ready)
		if c.Failed > 0 {
			out += fmt.Sprintf(", %d failed", c.Failed)
		}
		return out
	}
	_, err := fmt.Fprintf(w, "listeners %s; publishers %s; RPC workers %s\n",
		count(s.Listeners, "consuming"), count(s.Publishers, "ready"), count(s.Workers, "ready"))
	return err
}
