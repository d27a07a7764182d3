package main

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newBrokersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "brokers [ID]",
		Short: "List, add and remove the brokers of a running warren",
		Long: "brokers prints one line per broker (GET /brokers of the admin API, Kazoo's\n" +
			"broker_summary): its zone, state, connections, the float and sticky channels\n" +
			"consumers hold on it, whether it is draining, its tags.\n" +
			"'brokers add' and 'brokers remove' change the running tree (they need the\n" +
			"admin token, see 'warren run --help').",
		Example: "  warren brokers\n  warren brokers 127.0.0.1:5673 --json\n" +
			"  WARREN_AMQP_URI=amqp://kazoo:secret@10.0.0.7:5672/ warren brokers add --zone zone1\n" +
			"  warren brokers remove 10.0.0.7:5672",
		Args: atMostOne,
		RunE: func(cmd *cobra.Command, args []string) error {
			return showRows(a, cmd, "/brokers", args, "broker", func(b supervisor.AdminBrokerSummary) string { return b.ID }, renderBrokers)
		},
	}
	addShowFlags(cmd)
	cmd.AddCommand(newBrokersAddCmd(a), newBrokersRemoveCmd(a))
	return cmd
}

// renderBrokers prints GET /brokers as a table.
func renderBrokers(w io.Writer, rows []supervisor.AdminBrokerSummary, p palette) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "ID\tZONE\t%s\tCONNS\tFLOATS\tSTICKIES\tDRAINING\tTAGS\n", p.paint("STATE", noColor))
	for _, b := range rows {
		tags := strings.Join(b.Tags, ",")
		if b.Hidden {
			tags = strings.TrimPrefix(tags+",(hidden)", ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", cell(b.ID), cell(b.Zone), p.paint(cell(string(b.State)), connColor(b.State)),
			len(b.Connections), b.Floats, b.Stickies, yesNo(b.Draining), cell(tags))
	}
	return tw.Flush()
}

func newBrokersAddCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add [URI] --zone ZONE",
		Short: "Add a broker to a running warren",
		Long: "add connects the running tree to one more broker (POST /brokers) and prints\n" +
			"its id. The URI may hold a password: rather than an argument, which 'ps'\n" +
			"shows to every user, give it in $" + supervisor.EnvURI + " or in a file (--uri-file F,\n" +
			"'-' for stdin). It is never printed back with its password.",
		Example: "  WARREN_AMQP_URI=amqp://kazoo:secret@10.0.0.7:5672/ warren brokers add --zone zone1\n" +
			"  warren brokers add --uri-file /run/secrets/amqp --zone zone1 --connections 2 --tag media\n" +
			"  pass show amqp | warren brokers add --uri-file - --zone zone2 --hidden",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{fmt.Errorf("%s takes at most one URI, got %d arguments", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			uri, err := a.brokerURI(cmd, args)
			if err != nil {
				return err
			}
			body := supervisor.AdminAddBroker{URI: uri}
			body.Zone, _ = cmd.Flags().GetString("zone")
			body.Connections, _ = cmd.Flags().GetInt("connections")
			body.Tags, _ = cmd.Flags().GetStringArray("tag")
			body.Hidden, _ = cmd.Flags().GetBool("hidden")
			if body.Connections < 0 {
				return &usageError{fmt.Errorf("--connections %d: need 1 or more", body.Connections)}
			}
			return a.change(cmd, "POST", "/brokers", body, 0)
		},
	}
	addWriteFlags(cmd)
	cmd.Flags().String("zone", "", "`ZONE` of the broker (default the node's own zone)")
	cmd.Flags().Int("connections", 0, "`N` consuming connections to the broker (default 1)")
	cmd.Flags().StringArray("tag", nil, "a `TAG` of the broker (Kazoo's broker_tag); repeat for several")
	cmd.Flags().Bool("hidden", false, "serve sticky channels only, never floats")
	cmd.Flags().String("uri-file", "", "read the URI from `FILE`'s first line ('-': stdin), out of 'ps'")
	return cmd
}

// brokerURI returns the URI of `brokers add`: its argument, else
// --uri-file, else $WARREN_AMQP_URI; exactly one of them.
func (a *app) brokerURI(cmd *cobra.Command, args []string) (string, error) {
	file, _ := cmd.Flags().GetString("uri-file")
	env := a.getenv(supervisor.EnvURI)
	switch {
	case len(args) == 1 && file != "":
		return "", &usageError{fmt.Errorf("give the URI once: as an argument or with --uri-file, not both")}
	case len(args) == 1:
		return args[0], nil
	case file != "":
		return a.readURIFile(file)
	case env != "":
		return env, nil
	}
	return "", &usageError{fmt.Errorf("no broker URI: give it in $%s, with --uri-file FILE (or - for stdin), or as an argument", supervisor.EnvURI)}
}

// readURIFile reads the first line of file ("-": stdin); its errors never
// quote the content.
func (a *app) readURIFile(file string) (string, error) {
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--uri-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	if r == nil {
		return "", &usageError{fmt.Errorf("--uri-file -: no standard input")}
	}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	if !sc.Scan() || strings.TrimSpace(sc.Text()) == "" {
		return "", fmt.Errorf("--uri-file %s: no URI on its first line", file)
	}
	return strings.TrimSpace(sc.Text()), nil
}

func newBrokersRemoveCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove ID",
		Short:   "Remove a broker from a running warren",
		Long:    "remove closes the running tree's connections to broker ID (DELETE /brokers/ID).\nDrain it first ('warren drain ID') so that its floats move without a loss.",
		Example: "  warren drain 10.0.0.7:5672 && warren brokers remove 10.0.0.7:5672",
		Args:    exactlyOne("broker ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.change(cmd, "DELETE", "/brokers/"+url.PathEscape(args[0]), nil, 0)
		},
	}
	addWriteFlags(cmd)
	return cmd
}

// exactlyOne accepts exactly one positional argument, what.
func exactlyOne(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return &usageError{fmt.Errorf("%s takes one %s, got %d arguments", cmd.CommandPath(), what, len(args))}
		}
		return nil
	}
}
