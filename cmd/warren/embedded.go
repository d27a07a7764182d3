package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/supervisor"
)

// addTreeFlags adds the flags of a command that runs a tree in-process:
// --config, --url and --zone.
func addTreeFlags(cmd *cobra.Command) {
	cmd.Flags().String("config", "", "Kazoo's config.ini `FILE`: [zone] sections with amqp_uri, and [warren] settings")
	cmd.Flags().String("url", "", "one broker's AMQP `URI`, e.g. amqp://guest:guest@127.0.0.1:5672/ (replaces the brokers of --config)")
	cmd.Flags().String("zone", "", "the local `ZONE` (overrides the config's)")
	cmd.Flags().Duration("wait", defaultWait, "how long to wait for a broker of the local zone before giving up with its error; "+
		"without it a permanent error (access refused, vhost not found, unknown host) fails at once, and run waits as long as it runs")
}

// noRPC runs a client tree without RPC workers: a command that only
// publishes or listens declares no reply queues.
func noRPC(cfg *supervisor.Config) { cfg.RPC.Workers = -1 }

// noNodes runs a client command's tree without the nodes actor: off the
// nodes exchange, no queue of its own there.
func noNodes(cfg *supervisor.Config) { cfg.Nodes.Disabled = true }

// defaultWait is how long a client command waits for a broker by default.
const defaultWait = 10 * time.Second

// startTree starts the supervision tree that cmd's tree flags declare,
// logging to log. It returns at once; the tree connects in the background.
func (a *app) startTree(cmd *cobra.Command, log *slog.Logger, adjust ...func(*supervisor.Config)) (*supervisor.Tree, supervisor.Config, error) {
	cfg, err := a.treeConfig(cmd)
	if err != nil {
		return nil, cfg, err
	}
	if cfg.Nodes.Version == "" {
		cfg.Nodes.Version = versionLine() // the Version this node advertises on the nodes exchange
	}
	for _, f := range adjust {
		f(&cfg)
	}
	t, err := supervisor.Start(cfg, a.treeOptions(log)...)
	if err != nil {
		return nil, cfg, err
	}
	return t, cfg, nil
}

// treeConfig reads --config and applies --url and --zone.
func (a *app) treeConfig(cmd *cobra.Command) (supervisor.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	uri, _ := cmd.Flags().GetString("url")
	zone, _ := cmd.Flags().GetString("zone")
	var cfg supervisor.Config
	source := "--url"
	switch {
	case path != "":
		var err error
		if cfg, err = supervisor.LoadINI(path); err != nil {
			return cfg, err // a *ConfigError naming file, section and key
		}
		source = path + " (brokers from --url)"
	case uri == "" && a.getenv(supervisor.EnvURI) != "":
		uri, source = a.getenv(supervisor.EnvURI), "$"+supervisor.EnvURI
	case uri == "":
		return cfg, &usageError{errors.New("no broker to connect to: give --config FILE (Kazoo's config.ini) or --url amqp://USER:PASS@HOST:5672/")}
	}
	if uri != "" {
		if _, err := actors.BrokerID(uri); err != nil {
			// The error holds the URI redacted, never its password.
			return cfg, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "warren: "))
		}
		local := firstNonEmpty(zone, cfg.LocalZone, supervisor.DefaultZone)
		cfg.LocalZone = local
		cfg.Zones = []supervisor.Zone{{Name: local, Brokers: []string{uri}}}
		cfg.Source = source
	}
	if zone != "" {
		cfg.LocalZone = zone
	}
	return cfg, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// brokerList lists cfg's brokers for a log line, passwords masked.
func brokerList(cfg supervisor.Config) []string {
	var out []string
	for _, z := range cfg.Zones {
		for _, b := range z.Brokers {
			out = append(out, z.Name+"="+redact.URI(b))
		}
	}
	return out
}

// clientTree starts the in-process tree of a client command (listen,
// publish, call, errors) and waits for it as --wait says (wait_ready.go):
// until a broker of the local zone is up, or a permanent error, or --wait;
// the error then names each broker's last error. ctx ends on SIGINT or
// SIGTERM; done shuts the tree down.
func (a *app) clientTree(cmd *cobra.Command, adjust ...func(*supervisor.Config)) (t *supervisor.Tree, ctx context.Context, done func(), err error) {
	log, err := a.logger(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	ready, patient, err := readyWait(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	gate := &logGate{through: patient} // --wait given: log while waiting
	log = slog.New(gate.handler(log.Handler()))
	// A client command is not a node of the installation: it lists none
	// and stays off the nodes exchange (`warren run` advertises).
	endTrace, err := a.startCLITrace(cmd) // --trace: the command runs in a span of its own
	if err != nil {
		gate.open()
		return nil, nil, nil, err
	}
	t, _, err = a.startTree(cmd, log, append([]func(*supervisor.Config){noNodes}, adjust...)...)
	if err != nil {
		gate.open()
		endTrace()
		return nil, nil, nil, err
	}
	ctx, stop := signal.NotifyContext(a.withTrace(cmd.Context()), os.Interrupt, syscall.SIGTERM)
	done = func() { stop(); _ = shutdown(t, log); endTrace() }
	if err := waitTree(ctx, t, ready, patient); err != nil {
		if cmd.Flags().Changed("log-level") {
			gate.open() // asked for: the dial log too
		} else {
			gate.drop()
		}
		done()
		return nil, nil, nil, err
	}
	gate.open()
	return t, ctx, done, nil
}
