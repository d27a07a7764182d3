package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newPublishersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "publishers",
		Short: "Show the publishers pools of a running warren",
		Long: "publishers prints the publishers pool behind Tree.Publish (GET /publishers of\n" +
			"the admin API): its totals, then one line per publisher with its pool (the\n" +
			"zones' own and those added with Tree.AddPool), broker connection, state and\n" +
			"counters.",
		Example: "  warren publishers\n  warren publishers --admin 127.0.0.1:7117 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s supervisor.AdminPublishers
			return a.show(cmd, "/publishers", &s, func(out io.Writer, p palette) error { return renderPublishers(out, s, p) })
		},
	}
	addShowFlags(cmd)
	return cmd
}

func renderPublishers(w io.Writer, s supervisor.AdminPublishers, p palette) error {
	fmt.Fprintf(w, "pool size %d, published %d, confirmed %d, nacked %d, returned %d, unconfirmed %d, resent %d, waiting %d, dropped %d\n",
		s.Size, s.Published, s.Confirmed, s.Nacked, s.Returned, s.Unconfirmed, s.Resent, s.Buffered, s.Dropped)
	tw := newTable(w)
	fmt.Fprintf(tw, "NAME\tPOOL\t%s\tBROKER\tPUBLISHED\tCONFIRMED\tIN FLIGHT\tCONFIRM MEAN\tNACKED\tRETURNED\tUNCONFIRMED\tRESENT\tWAITING\tDROPPED\n", p.paint("STATE", noColor))
	for _, r := range s.Publishers {
		c := yellow
		if r.State == "ready" {
			c = green
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", cell(r.ID[strings.LastIndex(r.ID, "/")+1:]), cell(r.Pool),
			p.paint(cell(string(r.State)), c), cell(r.Broker), r.Published, r.Confirmed, r.InFlight, meanMs(r.ConfirmMeanMs),
			r.Nacked, r.Returned, r.Unconfirmed, r.Resent, r.Buffered, r.Dropped)
	}
	return tw.Flush()
}
