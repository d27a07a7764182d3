package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newConnectionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connections [ID]",
		Short: "List the broker connections of a running warren, or show one",
		Long: "connections prints one line per broker (GET /connections of the admin API).\n" +
			"CHANNELS counts the prechannels, the assigned channels and the control channel;\n" +
			"FLOATS and STICKIES the float and sticky channels consumers hold on it\n" +
			"(Kazoo's broker_summary; 'warren brokers' sums them per broker). With an ID it\n" +
			"prints that connection's details, one field a line.",
		Example: "  warren connections\n  warren connections 127.0.0.1:5672\n  warren connections 127.0.0.1:5672 --json\n  warren connections -w",
		Args:    atMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			render := renderConnections
			if len(args) == 1 {
				render = func(w io.Writer, rows []supervisor.AdminConnection, p palette) error {
					return renderConnection(w, rows[0], p)
				}
			}
			return showRows(a, cmd, "/connections", args, "connection", func(c supervisor.AdminConnection) string { return c.ID }, render)
		},
	}
	addShowFlags(cmd)
	return cmd
}

// renderConnection prints one connection's details, a field a line, as
// `warren connections ID` shows them: what the table has no room for
// (negotiated channel_max and heartbeat, the broker's product and version,
// since when, the exchanges it refused) included.
func renderConnection(w io.Writer, c supervisor.AdminConnection, p palette) error {
	tw := newTable(w)
	field := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	field("ID", cell(c.ID))
	field("Broker", cell(c.Broker))
	field("Role", cell(string(c.Role)))
	field("Zone", cell(c.Zone)+localNote(c.Local))
	field("URI", cell(c.URI))
	field("State", p.paint(connState(c), connColor(c.State)))
	field("Since", cell(c.Since))
	field("Available", yesNo(c.Available))
	field("Attempts", fmt.Sprint(c.Attempts))
	field("Last error", cell(c.LastError))
	field("Channels", fmt.Sprint(c.Channels))
	field("Floats", fmt.Sprint(c.Floats))
	field("Stickies", fmt.Sprint(c.Stickies))
	field("Channel max", zeroDash(c.ChannelMax))
	field("Heartbeat", cell(c.Heartbeat))
	field("Broker product", cell(strings.TrimSpace(c.Product+" "+c.Version)))
	field("Draining", yesNo(c.Draining))
	if len(c.ExchangeErrors) == 0 {
		field("Exchange errors", "-")
	}
	for i, e := range c.ExchangeErrors {
		name := "Exchange errors:"
		if i > 0 {
			name = "" // one a line, under the first
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, cell(e))
	}
	return tw.Flush()
}

// localNote marks the node's own zone.
func localNote(local bool) string {
	if local {
		return " (local)"
	}
	return ""
}

// zeroDash shows a count not known yet (0 until connected) as "-".
func zeroDash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
