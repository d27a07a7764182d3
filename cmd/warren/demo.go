package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

func newDemoCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "demo",
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/\n  warren demo\n  warren demo --watch=false      # one snapshot\n  warren demo -w --for 30s --interval 1s",
		Short:   "Start a tree, answer a few Kazoo requests through it, and show it live",
		Long: "demo starts the supervision tree against --url (or --config), spawns a listener\n" +
			"that answers Kazoo authn requests, makes --calls requests through the RPC\n" +
			"workers, and prints the tree, connections, channels, listeners and workers.\n" +
			"On a terminal (or with --watch) it stays live: one more call and a fresh view\n" +
			"every --interval, until Ctrl-C (or --for has passed), and serves the admin API\n" +
			"on --admin with the observer, a live web page of the tree, at /ui. Kill the\n" +
			"broker meanwhile to watch the tree reconnect.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd) },
	}
	addTreeFlags(cmd)
	addLogFlagsAt(cmd, "warn")
	cmd.Flags().Int("calls", 5, "`N` requests to make")
	cmd.Flags().BoolP("watch", "w", false, "stay live: a call and a fresh view every --interval (default on a terminal)")
	cmd.Flags().Duration("interval", 2*time.Second, "how often the live view calls and redraws")
	cmd.Flags().Duration("for", 0, "stop the live view after `D` (0: at Ctrl-C)")
	addAdminFlag(cmd, "`ADDR` the live view serves the admin API and the observer (/ui) on; \":PORT\" means loopback")
	addAdminAllowHostFlag(cmd)
	return cmd
}

func (a *app) demo(cmd *cobra.Command) error {
	calls, _ := cmd.Flags().GetInt("calls")
	live := a.isTTY(a.stdout)
	if cmd.Flags().Changed("watch") {
		live, _ = cmd.Flags().GetBool("watch")
	}
	interval, _ := cmd.Flags().GetDuration("interval")
	lasting, _ := cmd.Flags().GetDuration("for")
	if live && interval <= 0 {
		return &usageError{fmt.Errorf("--interval %v: need a positive duration", interval)}
	}
	if lasting < 0 {
		return &usageError{fmt.Errorf("--for %v: need a duration >= 0", lasting)}
	}
	log, err := a.logger(cmd)
	if err != nil {
		return err
	}
	t, cfg, err := a.startTree(cmd, log)
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(t, log) }()
	ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
	defer cancel()
	fmt.Fprintf(a.stdout, "warren demo: brokers %v, local zone %q\n", brokerList(cfg), t.LocalZone())
	start := time.Now()
	if err := t.WaitReady(ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "ready in %v\n\n", time.Since(start).Round(time.Millisecond))

	// A responder, as a Kazoo app would run one: answers authn_req on callmgr.
	_, err = t.SpawnListener(ctx, listener.Spec{Name: "demo-authn", App: "demo",
		Queue:    listener.QueueSpec{Name: "warren-demo-authn", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: kazoo.ExchangeCallmgr, RoutingKey: "authn.req.*"}},
		Defaults: kazoo.Defaults{AppName: "warren-demo", AppVersion: "1"},
		Handlers: []listener.Route{{Category: "directory", Name: "authn_req", Handler: func(ctx context.Context, d *listener.Delivery) error {
			return d.Reply(ctx, map[string]any{"Event-Category": "directory", "Event-Name": "authn_resp",
				"Auth-Method": "password", "Auth-Password": "demo-" + d.Envelope.Text("Auth-User")})
		}}},
	})
	if err != nil {
		return err
	}
	if err := t.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		row, ok := s.Listener("warren/listeners/demo-authn")
		return ok && row.State == registry.ListenerConsuming, nil
	}); err != nil {
		return fmt.Errorf("demo listener not consuming: %w", err)
	}
	for i := range calls {
		line, err := demoCall(ctx, t, i+1)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, line)
	}
	fmt.Fprintln(a.stdout)
	// Counters reach the tables within a flush period: wait for them.
	if err := t.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		if row, ok := s.Listener("warren/listeners/demo-authn"); !ok || row.Acked < uint64(calls) {
			return false, nil
		}
		var made uint64
		for _, w := range s.Workers() {
			made += w.Calls
		}
		return made >= uint64(calls), nil
	}); err != nil {
		return err
	}
	if err := a.demoShow(t); err != nil || !live {
		return err
	}
	return a.demoLive(cmd, t, calls, interval, lasting)
}

// demoCall makes the demo's n-th authn request and describes its reply.
func demoCall(ctx context.Context, t *supervisor.Tree, n int) (string, error) {
	user := fmt.Sprintf("user%d", n)
	req := rpc.Request{Exchange: kazoo.ExchangeCallmgr, RoutingKey: kazoo.AuthnReqRoutingKey("demo.example.com"),
		Envelope: kazoo.Envelope{"Event-Category": "directory", "Event-Name": "authn_req", "Auth-Realm": "demo.example.com", "Auth-User": user},
		Defaults: kazoo.Defaults{AppName: "warren-demo", AppVersion: "1"}}
	began := time.Now()
	reply, err := t.Call(ctx, req)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("call %s via callmgr/%s: %s -> %s in %v", reply.MsgID(), req.RoutingKey, user,
		reply.Text("Auth-Password"), time.Since(began).Round(time.Microsecond)), nil
}

// demoLive keeps the demo going: every interval one more call (its
// failure shown, not fatal: the broker may be down on purpose) and a
// fresh view, until SIGINT/SIGTERM or lasting has passed.
func (a *app) demoLive(cmd *cobra.Command, t *supervisor.Tree, made int, interval, lasting time.Duration) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if lasting > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lasting)
		defer cancel()
	}
	// The observer: the same tree as a live web page. A busy port (a
	// `warren run` on it) costs the demo nothing but the page.
	observer := ""
	opts, token, err := a.adminServeOptions(cmd)
	if err != nil {
		return err
	}
	if addr, err := t.ServeAdmin(ctx, a.adminAddr(cmd), opts...); err != nil {
		observer = fmt.Sprintf("observer: not served (%v); try --admin 127.0.0.1:0\n", err)
	} else {
		observer = "observer: " + observerURL(addr) + " (this tree, live, in a browser)\n"
		defer supervisor.RemoveAdminToken(addr.String(), token) // before the process exits, as run does
	}
	fmt.Fprint(a.stdout, observer)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		made++
		cctx, cancel := context.WithTimeout(ctx, interval)
		line, err := demoCall(cctx, t, made)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			line = fmt.Sprintf("call %d failed: %v", made, err)
		}
		if a.isTTY(a.stdout) {
			fmt.Fprint(a.stdout, "\x1b[H\x1b[2J") // home, clear
		}
		fmt.Fprintf(a.stdout, "warren demo, live every %v (Ctrl-C to stop)\n%s%s\n\n", interval, observer, line)
		if err := a.demoShow(t); err != nil {
			return err
		}
	}
}

// demoShow prints the admin API's views, read in-process.
func (a *app) demoShow(t *supervisor.Tree) error {
	h := t.AdminHandler()
	get := func(path string, v any) error {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			return fmt.Errorf("GET %s: %d", path, rec.Code)
		}
		return json.Unmarshal(rec.Body.Bytes(), v)
	}
	p := a.palette(a.stdout)
	var tree registry.TreeNode
	var conns []supervisor.AdminConnection
	var chans []supervisor.AdminChannel
	var ls []supervisor.AdminListener
	var ws supervisor.AdminWorkers
	for _, step := range []struct {
		title string
		path  string
		v     any
		print func(io.Writer) error
	}{
		{"supervision tree", "/tree", &tree, func(w io.Writer) error { return renderTree(w, &tree, p) }},
		{"connections", "/connections", &conns, func(w io.Writer) error { return renderConnections(w, conns, p) }},
		{"channels", "/channels", &chans, func(w io.Writer) error { return renderChannels(w, chans, p) }},
		{"listeners", "/listeners", &ls, func(w io.Writer) error { return renderListeners(w, ls, p) }},
		{"RPC workers", "/workers", &ws, func(w io.Writer) error { return renderWorkers(w, ws, p) }},
	} {
		if err := get(step.path, step.v); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "== %s (warren %s)\n", step.title, step.path[1:])
		if err := step.print(a.stdout); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout)
	}
	return nil
}
