package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newConnectionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connections",
		Short: "List the broker connections of a running warren",
		Long: "connections prints one line per broker (GET /connections of the admin API).\n" +
			"CHANNELS counts the prechannels, the assigned channels and the control channel.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rows []supervisor.AdminConnection
			return a.show(cmd, "/connections", &rows, func(w io.Writer, p palette) error { return renderConnections(w, rows, p) })
		},
	}
	addShowFlags(cmd)
	return cmd
}
