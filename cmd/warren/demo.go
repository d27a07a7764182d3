package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/\n  warren demo",
		Short:   "Start a tree, answer a few Kazoo requests through it, and show it live",
		Long: "demo starts the supervision tree against --url (or --config), spawns a listener\n" +
			"that answers Kazoo authn requests, makes --calls requests through the RPC\n" +
			"workers, and prints the live tree, connections, channels, listeners and workers.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd) },
	}
	addTreeFlags(cmd)
	addLogFlagsAt(cmd, "warn")
	cmd.Flags().Int("calls", 5, "`N` requests to make")
	return cmd
}

func (a *app) demo(cmd *cobra.Command) error {
	calls, _ := cmd.Flags().GetInt("calls")
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
	if err := t.Registry().WaitFor(ctx, func(txn *memdbTxn, ws memdbWatchSet) (bool, error) {
		ch, raw, err := txn.FirstWatch(registry.TableListeners, "id", "warren/listeners/demo-authn")
		ws.Add(ch)
		return err == nil && raw != nil && raw.(*registry.Listener).State == registry.ListenerConsuming, err
	}); err != nil {
		return fmt.Errorf("demo listener not consuming: %w", err)
	}
	for i := range calls {
		user := fmt.Sprintf("user%d", i+1)
		req := rpc.Request{Exchange: kazoo.ExchangeCallmgr, RoutingKey: kazoo.AuthnReqRoutingKey("demo.example.com"),
			Envelope: kazoo.Envelope{"Event-Category": "directory", "Event-Name": "authn_req", "Auth-Realm": "demo.example.com", "Auth-User": user},
			Defaults: kazoo.Defaults{AppName: "warren-demo", AppVersion: "1"}}
		began := time.Now()
		reply, err := t.Call(ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "call %s via callmgr/%s: %s -> %s in %v\n", reply.MsgID(), req.RoutingKey, user,
			reply.Text("Auth-Password"), time.Since(began).Round(time.Microsecond))
	}
	fmt.Fprintln(a.stdout)
	// Counters reach the tables within a flush period: wait for them.
	if err := t.Registry().WaitFor(ctx, func(txn *memdbTxn, ws memdbWatchSet) (bool, error) {
		ch, raw, err := txn.FirstWatch(registry.TableListeners, "id", "warren/listeners/demo-authn")
		ws.Add(ch)
		if err != nil || raw == nil || raw.(*registry.Listener).Acked < uint64(calls) {
			return false, err
		}
		it, err := txn.Get(registry.TableWorkers, "id")
		if err != nil {
			return false, err
		}
		ws.Add(it.WatchCh())
		var made uint64
		for r := it.Next(); r != nil; r = it.Next() {
			made += r.(*registry.RPCWorker).Calls
		}
		return made >= uint64(calls), nil
	}); err != nil {
		return err
	}
	return a.demoShow(t)
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
