package main

import (
	"io"

	"github.com/spf13/cobra"
)

// addShowFlags adds the flags of the commands that print one admin API
// answer: --admin and --json.
func addShowFlags(cmd *cobra.Command) {
	addAdminFlag(cmd, "`ADDR` of the admin API that 'warren run' serves")
	cmd.Flags().Bool("json", false, "print the admin API's JSON answer as it is")
}

// show reads GET path into v and prints it: as the API's JSON with --json,
// else through render.
func (a *app) show(cmd *cobra.Command, path string, v any, render func(io.Writer, palette) error) error {
	c, err := a.adminClient(cmd)
	if err != nil {
		return err
	}
	body, err := c.getJSON(cmd.Context(), path, v)
	if err != nil {
		return err
	}
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		return printJSON(a.stdout, body)
	}
	return render(a.stdout, a.palette(a.stdout))
}
