package main

import (
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newPoolsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pools [NAME]",
		Short: "List, add and remove the publisher and worker pools of a running warren",
		Long: "pools prints one line per pool (GET /pools): the zones' own publishers and\n" +
			"workers, then the pools added at run time (Kazoo's add_amqp_pool), with where\n" +
			"each takes its channels. 'pools add' and 'pools remove' change the running tree\n" +
			"(they need the admin token, see 'warren run --help'); a removed pool drains\n" +
			"first: its publishes and calls in flight finish.",
		Example: "  warren pools\n" +
			"  warren pools add billing --kind workers --broker 10.0.0.7:5672 --size 4\n" +
			"  warren pools add media --kind publishers --tag media\n" +
			"  warren pools remove billing",
		Args: atMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			return showRows(a, cmd, "/pools", args, "pool", func(p supervisor.PoolInfo) string { return p.Name }, renderPools)
		},
	}
	addShowFlags(cmd)
	cmd.AddCommand(newPoolsAddCmd(a), newPoolsRemoveCmd(a))
	return cmd
}

// renderPools prints GET /pools as a table.
func renderPools(w io.Writer, rows []supervisor.PoolInfo, _ palette) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tKIND\tZONE\tPINNED\tSIZE\tADDED")
	for _, p := range rows {
		pin := "-"
		switch {
		case p.Broker != "":
			pin = "broker " + p.Broker
		case p.Tag != "":
			pin = "tag " + p.Tag
		}
		added := yesNo(p.Added)
		if p.Removing {
			added = "removing"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", cell(p.Name), cell(string(p.Kind)), cell(p.Zone), cell(pin), p.Size, added)
	}
	return tw.Flush()
}

func newPoolsAddCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add NAME --kind publishers|workers",
		Short: "Add a publisher or worker pool to a running warren",
		Long: "add starts a named pool in the running tree (POST /pools): publishers for\n" +
			"Tree.Publish with publish.ViaPool(NAME), or RPC workers for a call with\n" +
			"rpc.Request{Pool: NAME}. --broker pins it to one broker, --tag to a broker\n" +
			"with that tag, --zone to the floats of a zone (default: the local zone).",
		Example: "  warren pools add billing --kind workers --broker 10.0.0.7:5672 --size 4",
		Args:    exactlyOne("pool NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := supervisor.AdminAddPool{Name: args[0]}
			kind, _ := cmd.Flags().GetString("kind")
			body.Kind = supervisor.PoolKind(kind)
			body.Broker, _ = cmd.Flags().GetString("broker")
			body.Zone, _ = cmd.Flags().GetString("zone")
			body.Tag, _ = cmd.Flags().GetString("tag")
			body.Size, _ = cmd.Flags().GetInt("size")
			if err := supervisor.PoolSpec(body).Validate(); err != nil {
				return &usageError{err}
			}
			return a.change(cmd, "POST", "/pools", body, 0)
		},
	}
	addWriteFlags(cmd)
	cmd.Flags().String("kind", "", "`KIND` of pool: publishers or workers (required)")
	cmd.Flags().String("broker", "", "pin the pool to broker `ID` (sticky channels there)")
	cmd.Flags().String("zone", "", "take float channels of `ZONE` (default the node's own zone)")
	cmd.Flags().String("tag", "", "take channels on a broker with `TAG` (Kazoo's broker_tag)")
	cmd.Flags().Int("size", 0, "`N` publishers or workers (default 2)")
	return cmd
}

func newPoolsRemoveCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Short:   "Drain and remove a pool added at run time",
		Long:    "remove drains pool NAME (DELETE /pools/NAME): new publishes and calls through it\nfail at once, those in flight finish; then its actors stop.",
		Example: "  warren pools remove billing",
		Args:    exactlyOne("pool NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.change(cmd, "DELETE", "/pools/"+url.PathEscape(args[0]), nil, 0)
		},
	}
	addWriteFlags(cmd)
	return cmd
}
