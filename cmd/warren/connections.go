package main

import (
	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newConnectionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connections [ID]",
		Short: "List the broker connections of a running warren",
		Long: "connections prints one line per broker (GET /connections of the admin API).\n" +
			"CHANNELS counts the prechannels, the assigned channels and the control channel;\n" +
			"FLOATS and STICKIES the float and sticky channels consumers hold on it\n" +
			"(Kazoo's broker_summary; 'warren brokers' sums them per broker).",
		Example: "  warren connections\n  warren connections 127.0.0.1:5672 --json\n  warren connections -w",
		Args:    atMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			return showRows(a, cmd, "/connections", args, "connection", func(c supervisor.AdminConnection) string { return c.ID }, renderConnections)
		},
	}
	addShowFlags(cmd)
	return cmd
}
