package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/supervisor"
)

// shutdownTimeout bounds a clean stop after SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second

func newRunCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the supervision tree and serve the admin API",
		Long: "run starts Warren's supervision tree from --config (Kazoo's config.ini) or\n" +
			"--url, serves the admin API on --admin, and runs until SIGINT or SIGTERM. It\n" +
			"prints the address of the observer, a live web page of the tree\n" +
			"(http://ADDR/ui). It exits non-zero when the tree fails.\n\n" +
			"Reads of the admin API are open; its writes (warren brokers add/remove, drain,\n" +
			"undrain, listeners stop) need its token, which run generates at start unless\n" +
			"given (--admin-token-file F, or $" + envAdminToken + ") and writes, readable by this\n" +
			"user only, to $" + supervisor.EnvAdminTokenDir + ", else $XDG_RUNTIME_DIR/warren, else\n" +
			"/tmp/warren-UID, as admin-HOST_PORT.token; the client commands read it there.\n" +
			"The file is removed when run stops.\n\n" + traceHelp,
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/   # not --url: ps would show the password\n  warren run\n" +
			"  warren run --config /etc/kazoo/core/config.ini --zone zone1 --admin 127.0.0.1:7117\n" +
			"  warren run --admin 0.0.0.0:7117 --admin-allow-host warren1.example.com   # reached by that name",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.run(cmd) },
	}
	addTreeFlags(cmd)
	addAdminFlag(cmd, "`ADDR` to serve the admin API on; \":PORT\" means loopback")
	addAdminAllowHostFlag(cmd)
	cmd.Flags().String("admin-token-file", "", "serve the admin API with the write token in `FILE` (its first line) "+
		"instead of generating one ($"+envAdminToken+" also gives one)")
	addLogFlags(cmd)
	return cmd
}

// addAdminAllowHostFlag adds --admin-allow-host to a command that serves
// the admin API.
func addAdminAllowHostFlag(cmd *cobra.Command) {
	cmd.Flags().StringArray("admin-allow-host", nil, "host `NAME` requests to the admin API may name besides its address, "+
		"localhost and IPs (a DNS name, a proxy's); repeat for several (default none: others get 421)")
}

// adminServeOptions returns the ServeAdmin options of cmd's flags and of
// $WARREN_ADMIN_TOKEN, and the token it serves with (one made here when
// none is given), so that the command removes its file before it exits.
func (a *app) adminServeOptions(cmd *cobra.Command) ([]supervisor.AdminOption, string, error) {
	var opts []supervisor.AdminOption
	if hosts, _ := cmd.Flags().GetStringArray("admin-allow-host"); len(hosts) > 0 {
		opts = append(opts, supervisor.WithAdminAllowHosts(hosts...))
	}
	if f := cmd.Flags().Lookup("admin-token-file"); f != nil && f.Changed {
		token, err := supervisor.ReadAdminToken(f.Value.String())
		if err != nil {
			return nil, "", &usageError{fmt.Errorf("--admin-token-file: %w", err)}
		}
		return append(opts, supervisor.WithAdminToken(token)), token, nil
	}
	if v := strings.TrimSpace(a.getenv(envAdminToken)); v != "" {
		return append(opts, supervisor.WithAdminToken(v)), v, nil
	}
	token, err := supervisor.NewAdminToken()
	if err != nil {
		return nil, "", err
	}
	return append(opts, supervisor.WithAdminToken(token)), token, nil
}

func (a *app) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	log, err := a.logger(cmd)
	if err != nil {
		return err
	}
	stopTracing, err := a.setupTracing(ctx, false) // OTEL_* asks for OTLP traces, or nothing happens
	if err != nil {
		return err
	}
	defer stopTracing()
	t, cfg, err := a.startTree(cmd, log)
	if err != nil {
		return err
	}
	log.Info("starting", "config", cfg.Source, "zone", t.LocalZone(), "brokers", brokerList(cfg))
	opts, token, err := a.adminServeOptions(cmd)
	if err != nil {
		_ = shutdown(t, log)
		return err
	}
	addr, err := t.ServeAdmin(ctx, a.adminAddr(cmd), opts...)
	if err != nil {
		_ = shutdown(t, log)
		return err
	}
	// The server removes its token file once stopped, which may be after
	// this process exits: run removes it itself.
	defer supervisor.RemoveAdminToken(addr.String(), token)
	log.Info("admin API listening", "addr", addr.String(), "token_file", supervisor.AdminTokenFile(addr.String()))
	fmt.Fprintf(cmd.OutOrStdout(), "observer: %s\n", observerURL(addr))
	if a.started != nil {
		a.started(t, addr)
	}

	notReady, err := runDeadline(ctx, cmd, t)
	if err != nil {
		_ = shutdown(t, log)
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	rctx, stopWaiting := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { logReadiness(rctx, t, cfg.BootstrapTimeout, log) })
	defer func() { stopWaiting(); wg.Wait() }()

	select {
	case s := <-sigs:
		signal.Stop(sigs) // a second signal kills the process
		log.Info("shutting down", "signal", s.String())
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx).Error())
	case <-t.Done():
		if err := t.Err(); err != nil {
			return err
		}
		return errors.New("warren: the supervision tree stopped on its own")
	case err := <-notReady:
		stopWaiting()
		_ = shutdown(t, log)
		return err
	}
	stopWaiting()
	return shutdown(t, log)
}

// observerURL is the address of the admin API's web page of the tree.
func observerURL(addr net.Addr) string { return "http://" + addr.String() + "/ui" }

// shutdown stops t within shutdownTimeout.
func shutdown(t *supervisor.Tree, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := t.Shutdown(ctx); err != nil {
		return fmt.Errorf("warren: not stopped cleanly within %v: %w", shutdownTimeout, err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// logReadiness logs "ready" once the tree is, and an error every
// bootstrap timeout until then.
func logReadiness(ctx context.Context, t *supervisor.Tree, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = actors.DefaultBootstrapTimeout
	}
	start := time.Now()
	for {
		wctx, cancel := context.WithTimeout(ctx, every)
		err := t.WaitReadyPatiently(wctx) // a permanent error is logged once by its connection
		cancel()
		if err == nil {
			log.Info("ready", "zone", t.LocalZone(), "after", time.Since(start).Round(time.Millisecond).String())
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Done():
			return
		default:
		}
		log.Error("not ready yet; still waiting", "zone", t.LocalZone(), "waited", time.Since(start).Round(time.Second).String(), "err", err)
	}
}
