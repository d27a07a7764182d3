package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
)

func newListenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Consume from an exchange through a listener and print each delivery",
		Long: "listen runs its own supervision tree (brokers from --config or --url), binds a\n" +
			"queue to --exchange with each --key through a Warren listener, and prints every\n" +
			"delivery until interrupted (or until --count deliveries), one a line: the zone\n" +
			"and the broker it came from (another zone's with --federate), exchange,\n" +
			"routing key, body. With --json it prints one JSON object per line: zone,\n" +
			"broker, exchange, routing_key, headers, body (the JSON itself, a string, or\n" +
			"base64 for a binary body: body_encoding says which), and notes on what JSON\n" +
			"could not hold as it was (a timestamp past 9999).\n\n" +
			"With --reply (or --reply-file) it answers every request it receives, as a\n" +
			"Kazoo app does: the reply carries the request's Msg-ID and goes to exchange\n" +
			"targeted with the request's Server-ID as routing key, or to its AMQP reply-to\n" +
			"(direct reply-to) when it has one, back through the zone it came from. What\n" +
			"was answered is printed under the request (--json: its \"reply\").",
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/   # not --url: ps would show the password\n  warren listen --exchange callmgr --type topic --key 'authn.req.*'\n" +
			"  warren listen --config /etc/kazoo/core/config.ini --exchange nodes --type fanout --json\n" +
			"  warren listen --config /etc/kazoo/core/config.ini --exchange registrar --key 'registration.flush.*' --federate\n" +
			"  warren listen --exchange callmgr --key 'authn.req.*' --reply '{\"Event-Category\":\"directory\",\"Event-Name\":\"authn_resp\",\"Auth-Method\":\"password\",\"Auth-Password\":\"s3\"}'",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.listen(cmd) },
	}
	addTreeFlags(cmd)
	addLogFlagsAt(cmd, "warn") // stdout is for the deliveries; stderr stays quiet
	cmd.Flags().String("exchange", "", "`EXCHANGE` to bind to (required)")
	cmd.Flags().String("type", "topic", "exchange `TYPE`: direct, topic, fanout or headers; the exchange is declared with it")
	cmd.Flags().StringArray("key", nil, "routing `KEY` to bind with; repeat for several (default \"#\", or \"\" for fanout)")
	cmd.Flags().String("queue", "", "`QUEUE` name; default an exclusive queue named by Warren")
	cmd.Flags().Bool("durable", false, "declare the exchange durable (as Kazoo's own exchanges are not, but amq.* and many others are)")
	cmd.Flags().Bool("passive", false, "do not declare the exchange: bind to it as it is (needed for amq.topic and friends)")
	cmd.Flags().Bool("json", false, "print one JSON object per delivery")
	cmd.Flags().Int("count", 0, "exit after `N` deliveries (0: run until interrupted)")
	cmd.Flags().Bool("federate", false, "also consume from every broker of the other zones of --config (one federator each)")
	addReplyFlags(cmd)
	return cmd
}

func (a *app) listen(cmd *cobra.Command) error {
	exchange, _ := cmd.Flags().GetString("exchange")
	kind, _ := cmd.Flags().GetString("type")
	keys, _ := cmd.Flags().GetStringArray("key")
	queue, _ := cmd.Flags().GetString("queue")
	asJSON, _ := cmd.Flags().GetBool("json")
	count, _ := cmd.Flags().GetInt("count")
	durable, _ := cmd.Flags().GetBool("durable")
	passive, _ := cmd.Flags().GetBool("passive")
	federate, _ := cmd.Flags().GetBool("federate")
	switch {
	case durable && passive:
		return &usageError{errors.New("--durable declares the exchange, --passive does not: give one of them")}
	case exchange == "":
		return &usageError{errors.New("--exchange is required")}
	case kind != "direct" && kind != "topic" && kind != "fanout" && kind != "headers":
		return &usageError{fmt.Errorf("--type %q: want direct, topic, fanout or headers", kind)}
	case count < 0:
		return &usageError{fmt.Errorf("--count %d: must not be negative", count)}
	}
	if len(keys) == 0 {
		keys = []string{"#"}
		if kind == "fanout" {
			keys = []string{""}
		}
	}
	host, _ := os.Hostname()
	defaults := kazoo.Defaults{AppName: "warren-listen", AppVersion: "1", Node: "warren@" + host}
	reply, err := a.newReplier(cmd, defaults)
	if err != nil {
		return err
	}
	t, ctx, done, err := a.clientTree(cmd, noRPC)
	if err != nil {
		return err
	}
	defer done()
	var (
		mu     sync.Mutex
		seen   int
		enough = make(chan struct{})
	)
	print := func(hctx context.Context, d *listener.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if count > 0 && seen >= count {
			return nil
		}
		var answer *answered
		if reply != nil {
			answer = reply.answer(hctx, d)
		}
		if asJSON {
			fmt.Fprintln(a.stdout, string(deliveryLine(d, answer)))
		} else {
			fmt.Fprintf(a.stdout, "%s %s %s %s %s%s\n", cell(d.Zone), cell(d.Broker), d.Exchange, d.RoutingKey, printable(d.Body), traceSuffix(d))
			if answer != nil {
				fmt.Fprintln(a.stdout, answer.text())
			}
		}
		if seen++; count > 0 && seen == count {
			close(enough)
		}
		return nil
	}
	spec := listener.Spec{Name: "listen", App: "warren-listen", Ack: listener.AckAuto, Workers: 1, Federate: federate, Defaults: defaults,
		Queue:    listener.QueueSpec{Name: queue, Exclusive: queue == "", AutoDelete: true},
		Handlers: []listener.Route{{Handler: print}}, Raw: print}
	for _, k := range keys {
		spec.Bindings = append(spec.Bindings, listener.Binding{Exchange: exchange, RoutingKey: k, Declare: !passive, Kind: kind, Durable: durable})
	}
	pid, err := t.SpawnListener(ctx, spec)
	if err != nil {
		return err
	}
	if federate {
		defer a.serveFederators(ctx, t)() // its own admin API: `warren zones --admin` shows the federators
	}
	// Ready once the queue is declared and bound; a topology the broker keeps
	// refusing (an exchange of another type, say) ends the command with its
	// reason.
	if err := t.WaitConsuming(ctx, pid); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted
		}
		return listenWords(err)
	}
	if row, ok := t.Registry().Listener(pid.Id); ok {
		fmt.Fprintf(a.stderr, "warren: listening on queue %s (exchange %s, keys %s)\n", row.Queue, exchange, strings.Join(keys, " "))
	}
	select {
	case <-ctx.Done():
	case <-enough:
	case <-t.Done():
		return t.Err()
	}
	return nil
}

// printable renders a body on one line: valid UTF-8 text as it is (line
// breaks folded), anything else Go-quoted, so that no body is dropped and
// none garbles the terminal.
func printable(body []byte) string {
	s := string(body)
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return oneLine(s)
	}
	return strconv.Quote(s)
}
