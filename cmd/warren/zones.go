package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newZonesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zones [NAME]",
		Short: "List the zones of a running warren: brokers up, primary, federators",
		Long: "zones prints one line per zone (GET /zones of the admin API), the local zone\n" +
			"first: its brokers and how many are up, the primary broker its float channels\n" +
			"use, and the federators consuming from its brokers for federated listeners.\n\n" +
			"It counts the federators of the tree it asks: those of `warren run`'s listeners.\n" +
			"A `warren listen --federate` runs its federators in its own process and serves\n" +
			"its own admin API for them, on the address it prints: warren zones --admin ADDR.",
		Example: "  warren zones\n  warren zones east --json\n  warren zones -w",
		Args:    atMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			return showRows(a, cmd, "/zones", args, "zone", func(z supervisor.AdminZoneRow) string { return z.Name }, renderZones)
		},
	}
	addShowFlags(cmd)
	return cmd
}

// renderZones prints GET /zones as a table.
func renderZones(w io.Writer, rows []supervisor.AdminZoneRow, p palette) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "NAME\tLOCAL\t%s\tBROKERS UP\tPRIMARY\tFEDERATORS\n", p.paint("AVAILABLE", noColor))
	for _, z := range rows {
		c := red
		if z.Available {
			c = green
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%d/%d consuming\n", cell(z.Name), yesNo(z.Local), p.paint(yesNo(z.Available), c),
			z.Up, z.Brokers, cell(z.Primary), z.Consuming, z.Federators)
	}
	return tw.Flush()
}
