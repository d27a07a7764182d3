package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newWorkersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "workers",
		Example: "  warren workers\n  warren workers --json",
		Short:   "Show the RPC worker pool of a running warren",
		Long: "workers prints the RPC worker pool (GET /workers of the admin API): its size,\n" +
			"calls waiting now, calls made, timeouts and late replies, then one line per worker.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var w supervisor.AdminWorkers
			return a.show(cmd, "/workers", &w, func(out io.Writer, p palette) error { return renderWorkers(out, w, p) })
		},
	}
	addShowFlags(cmd)
	return cmd
}

func renderWorkers(w io.Writer, s supervisor.AdminWorkers, p palette) error {
	fmt.Fprintf(w, "pool size %d, busy %d, calls %d, replies %d, timeouts %d, late replies %d, errors %d\n",
		s.Size, s.Busy, s.Calls, s.Replies, s.Timeouts, s.Late, s.Errors)
	tw := newTable(w)
	fmt.Fprintf(tw, "NAME\tPOOL\t%s\tBROKER\tBUSY\tCALLS\tMEAN\tTIMEOUTS\tLATE\tQUEUE\n", p.paint("STATE", noColor))
	for _, r := range s.Workers {
		c := yellow
		if r.State == "ready" {
			c = green
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\n", cell(r.Name), cell(r.Pool), p.paint(cell(string(r.State)), c), cell(r.Broker),
			r.Busy, r.Calls, meanMs(r.MeanMs), r.Timeouts, r.Late, cell(r.Queue))
	}
	return tw.Flush()
}
