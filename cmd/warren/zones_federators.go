package main

import (
	"context"
	"fmt"

	"github.com/warrenmq/warren/supervisor"
)

// serveFederators makes the federators of a client command visible: a
// `warren listen --federate` consumes from the other zones' brokers through
// federators of its own process, which the node it shares a broker with
// (`warren run`) neither runs nor can see. So the command serves its own
// admin API on a free loopback port, for as long as it runs, and says
// where: `warren zones --admin ADDR` (and listeners, connections) shows its
// federators, per zone. The token file goes when it returns (call the
// function it returns before exiting).
func (a *app) serveFederators(ctx context.Context, t *supervisor.Tree) func() {
	token, err := supervisor.NewAdminToken()
	if err != nil {
		fmt.Fprintf(a.stderr, "warren: its federators are not shown: %v\n", err)
		return func() {}
	}
	addr, err := t.ServeAdmin(ctx, "127.0.0.1:0", supervisor.WithAdminToken(token))
	if err != nil {
		fmt.Fprintf(a.stderr, "warren: its federators are not shown: %v\n", err)
		return func() {}
	}
	fmt.Fprintf(a.stderr, "warren: its federators: warren zones --admin %s\n", addr)
	return func() { supervisor.RemoveAdminToken(addr.String(), token) }
}
