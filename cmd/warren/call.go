package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/supervisor"
)

func newCallCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "call PAYLOAD",
		Short: "Make a Kazoo request and print the replies",
		Long: "call runs its own supervision tree (brokers from --config or --url), publishes\n" +
			"PAYLOAD (a Kazoo JSON envelope; Msg-ID, App-Name, App-Version and Node are\n" +
			"filled in when missing) to --exchange with --key through an RPC worker, and\n" +
			"prints each reply as one JSON line: the first one, or --collect N of them.\n" +
			"Replies come the Kazoo way (exchange targeted, routing key = the request's\n" +
			"Server-ID), or through direct reply-to with --direct. With --all-zones each\n" +
			"reply carries AMQP-Broker-Zone, the zone it came from (the key Kazoo's\n" +
			"federator adds to what it hands on), the local zone's replies first.",
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/   # not --url: ps would show the password\n  warren call --exchange callmgr --key authn.req.example%2Ecom \\\n" +
			"    '{\"Event-Category\":\"directory\",\"Event-Name\":\"authn_req\",\"Auth-Realm\":\"example.com\",\"Auth-User\":\"alice\"}'\n" +
			"  warren call --config /etc/kazoo/core/config.ini --all-zones --collect 1 --exchange callmgr --key authn.req.example%2Ecom '{...}'   # one reply per zone",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("warren call takes one PAYLOAD argument (a JSON object), got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.call(cmd, args[0]) },
	}
	addTreeFlags(cmd)
	addLogFlagsAt(cmd, "warn")
	cmd.Flags().String("exchange", "", "`EXCHANGE` to publish the request to (required; \"\" is not allowed here)")
	cmd.Flags().String("key", "", "routing `KEY` of the request")
	cmd.Flags().Int("collect", 1, "wait for `N` replies (call_collect); with N > 1 the replies gathered by the deadline are printed")
	cmd.Flags().Duration("timeout", rpc.DefaultCallTimeout, "how long to wait for the replies")
	cmd.Flags().Bool("direct", false, "ask for replies through RabbitMQ's direct reply-to (Warren peers)")
	cmd.Flags().Bool("all-zones", false, "ask every zone of --config at once, --collect replies from each (--zone picks the one zone otherwise)")
	addTraceFlag(cmd) // trace.go
	return cmd
}

func (a *app) call(cmd *cobra.Command, payload string) error {
	exchange, _ := cmd.Flags().GetString("exchange")
	key, _ := cmd.Flags().GetString("key")
	collect, _ := cmd.Flags().GetInt("collect")
	timeout, _ := cmd.Flags().GetDuration("timeout")
	direct, _ := cmd.Flags().GetBool("direct")
	allZones, _ := cmd.Flags().GetBool("all-zones")
	switch {
	case exchange == "":
		return &usageError{errors.New("--exchange is required")}
	case collect < 1:
		return &usageError{fmt.Errorf("--collect %d: must be at least 1", collect)}
	case timeout <= 0:
		return &usageError{fmt.Errorf("--timeout %v: must be positive", timeout)}
	}
	env, err := kazoo.Parse([]byte(payload))
	if err != nil {
		return &usageError{fmt.Errorf("payload: %s", strings.TrimPrefix(err.Error(), "warren: "))}
	}
	// The broker may take a moment: readiness is bounded by the call's
	// timeout plus a connect allowance.
	t, ctx, done, err := a.clientTree(cmd)
	if err != nil {
		return err
	}
	defer done()
	host, _ := os.Hostname()
	req := rpc.Request{Exchange: exchange, RoutingKey: key, Envelope: env, DirectReply: direct,
		Defaults: kazoo.Defaults{AppName: "warren-call", AppVersion: "1", Node: "warren@" + host}}
	if allZones {
		req.Zone = rpc.AllZones
	}
	cctx, ccancel := context.WithTimeout(ctx, timeout)
	defer ccancel()
	replies, err := collectReplies(cctx, t, req, collect)
	for _, r := range replies {
		line, merr := r.Marshal()
		if merr != nil {
			return merr
		}
		fmt.Fprintln(a.stdout, string(line))
	}
	if errors.Is(err, rpc.ErrCallTimeout) && collect > 1 && len(replies) > 0 {
		fmt.Fprintf(a.stderr, "warren: %d of %d replies within %v\n", len(replies), collect, timeout)
		return nil
	}
	return err
}

// collectReplies makes the call of `warren call`; with --all-zones (req.Zone
// rpc.AllZones) each reply is marked with the zone it came from, in
// AMQP-Broker-Zone.
func collectReplies(ctx context.Context, t *supervisor.Tree, req rpc.Request, n int) ([]kazoo.Envelope, error) {
	if req.Zone != rpc.AllZones {
		return t.CallCollect(ctx, req, rpc.UntilCount(n))
	}
	zoned, err := t.CallCollectZones(ctx, req, rpc.UntilCount(n))
	replies := make([]kazoo.Envelope, len(zoned))
	for i, r := range zoned {
		r.Reply[kazoo.HeaderAMQPBrokerZone] = r.Zone
		replies[i] = r.Reply
	}
	return replies, err
}
