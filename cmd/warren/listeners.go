package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

func newListenersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "listeners [NAME]",
		Short: "List the listeners of a running warren",
		Long: "listeners prints one line per listener (GET /listeners of the admin API):\n" +
			"its queue, bindings, broker, state and message counts (DEAD-LETTERED: messages\n" +
			"whose handler failed for good, moved to the queue's dead-letter exchange or its\n" +
			"<queue>_error queue; --json has every counter).",
		Example: "  warren listeners\n  warren listeners authn --json\n  warren listeners -w",
		Args:    atMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			return showRows(a, cmd, "/listeners", args, "listener", func(l supervisor.AdminListener) string { return l.Name }, renderListeners)
		},
	}
	addShowFlags(cmd)
	cmd.AddCommand(newListenersStopCmd(a))
	return cmd
}

func newListenersStopCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stop NAME",
		Short: "Drain and stop a listener of a running warren",
		Long: "stop drains listener NAME (its consumer is cancelled, the messages its handlers\n" +
			"hold are finished and acked, the others go back to the queue) and stops it, its\n" +
			"federators with it (POST /listeners/NAME/stop).",
		Example: "  warren listeners stop authn",
		Args:    exactlyOne("listener NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.change(cmd, "POST", "/listeners/"+url.PathEscape(args[0])+"/stop", nil, supervisor.AdminWriteTimeout)
		},
	}
	addWriteFlags(cmd)
	return cmd
}

// renderListeners prints GET /listeners as a table.
func renderListeners(w io.Writer, rows []supervisor.AdminListener, p palette) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "NAME\tQUEUE\tBINDINGS\tZONE\tBROKER\t%s\tRECEIVED\tACKED\tNACKED\tREJECTED\tUNHANDLED\tERRORS\tDEAD-LETTERED\n", p.paint("STATE", noColor))
	for _, l := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", cell(l.Name), cell(l.Queue), cell(strings.Join(l.Bindings, ",")),
			cell(l.Zone), cell(l.Broker), p.paint(cell(string(l.State)), listenerColor(l.State)), l.Received, l.Acked, l.Nacked,
			l.Rejected, l.Unhandled, l.Errors, l.DeadLettered)
	}
	return tw.Flush()
}

func listenerColor(s registry.ListenerState) sgr {
	switch s {
	case registry.ListenerConsuming:
		return green
	case registry.ListenerWaiting, registry.ListenerDeclaring, registry.ListenerReconnecting:
		return yellow
	}
	return red
}
