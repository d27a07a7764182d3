package main

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newChannelsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "channels",
		Example: "  warren channels\n  warren channels --json | jq '.[] | select(.state != \"assigned\")'\n  warren channels -w",
		Short:   "List the channels and consumers of a running warren",
		Long: "channels prints one line per prechannel or consumer (GET /channels of the\n" +
			"admin API). ID is the channel id, \"-\" while a consumer waits for one.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rows []supervisor.AdminChannel
			return a.show(cmd, "/channels", &rows, func(w io.Writer, p palette) error { return renderChannels(w, rows, p) })
		},
	}
	addShowFlags(cmd)
	return cmd
}
