package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/redact"
)

// replyTimeout bounds one answer of `warren listen --reply`: a broker that
// does not confirm it costs that answer, not the listen.
const replyTimeout = 10 * time.Second

// addReplyFlags adds --reply and --reply-file to listen.
func addReplyFlags(cmd *cobra.Command) {
	cmd.Flags().String("reply", "", "answer every request (a delivery with a Server-ID or a reply-to) with this `JSON` object, as a Kazoo app does: Msg-ID echoed, sent to targeted/<Server-ID> or to the reply-to")
	cmd.Flags().String("reply-file", "", "--reply, the JSON object read from `PATH` (- for stdin)")
}

// replier answers the requests `warren listen --reply` receives, with
// the library's Delivery.Reply: Kazoo's way (exchange targeted, routing
// key the request's Server-ID, its Msg-ID echoed), or to the request's
// AMQP reply-to (direct reply-to) when it has one. Safe for concurrent
// use: it holds only what the flags said.
type replier struct {
	fields   map[string]any // the reply's keys; Msg-ID and the defaults are added per request
	defaults kazoo.Defaults
}

// newReplier reads --reply or --reply-file; nil when neither is given.
// The object must make a valid Kazoo reply (Event-Category, Event-Name):
// a mistake there is a usage error now, not one per request later.
func (a *app) newReplier(cmd *cobra.Command, defaults kazoo.Defaults) (*replier, error) {
	text, _ := cmd.Flags().GetString("reply")
	path, _ := cmd.Flags().GetString("reply-file")
	flag := "--reply"
	switch {
	case text != "" && path != "":
		return nil, &usageError{errors.New("--reply and --reply-file both say what to answer: give one of them")}
	case path == "" && !cmd.Flags().Changed("reply"):
		return nil, nil
	case path != "":
		flag = "--reply-file " + path
		b, err := a.readReplyFile(path)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--reply-file: %w", err)}
		}
		text = string(b)
	}
	env, err := kazoo.Parse([]byte(text))
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: %s", flag, strings.TrimPrefix(err.Error(), "warren: "))}
	}
	if _, err := kazoo.NewReply(kazoo.Envelope{kazoo.HeaderMsgID: "check"}, env, defaults); err != nil {
		return nil, &usageError{fmt.Errorf("%s: not a Kazoo reply: %s (e.g. {\"Event-Category\":\"directory\",\"Event-Name\":\"authn_resp\",…})",
			flag, strings.TrimPrefix(err.Error(), "warren: "))}
	}
	return &replier{fields: env, defaults: defaults}, nil
}

// readReplyFile reads the reply object from path, or from stdin for "-".
func (a *app) readReplyFile(path string) ([]byte, error) {
	if path != "-" {
		return os.ReadFile(path)
	}
	if a.stdin == nil {
		return nil, errors.New("no standard input")
	}
	return io.ReadAll(io.LimitReader(a.stdin, 1<<20))
}

// answered is what `warren listen --reply` did with one request: where
// the reply went and what it said, or why it could not be sent.
type answered struct {
	Exchange   string          `json:"exchange"` // "" for a reply-to queue
	RoutingKey string          `json:"routing_key"`
	Body       json.RawMessage `json:"body,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// answer replies to d when it is a request and says what it sent; nil
// for a delivery that asks for no reply (no reply-to, no Server-ID) or is
// not JSON.
func (r *replier) answer(ctx context.Context, d *listener.Delivery) *answered {
	if d.Envelope == nil {
		return nil // Reply needs a JSON request; a raw one is printed only
	}
	var out answered
	if d.ReplyTo != "" {
		out.RoutingKey = d.ReplyTo
	} else if addr, ok := d.Envelope.ReplyAddress(); ok {
		out.Exchange, out.RoutingKey = addr.Exchange, addr.RoutingKey
	} else {
		return nil
	}
	// What Delivery.Reply sends: the same fields, Msg-ID and defaults.
	if env, err := kazoo.NewReply(d.Envelope, r.fields, r.defaults); err != nil {
		out.Error = strings.TrimPrefix(err.Error(), "warren: ")
		return &out
	} else if body, err := env.Marshal(); err == nil {
		out.Body = body
	}
	rctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err := d.Reply(rctx, r.fields); err != nil {
		out.Error = redact.Text(strings.TrimPrefix(err.Error(), "warren: "))
	}
	return &out
}

// text renders what was answered as the line printed under the request.
func (a *answered) text() string {
	to := "targeted " + a.RoutingKey
	if a.Exchange == "" {
		to = "reply-to " + a.RoutingKey
	} else if a.Exchange != kazoo.ExchangeTargeted {
		to = a.Exchange + " " + a.RoutingKey
	}
	if a.Error != "" {
		return "  reply to " + to + " failed: " + oneLine(a.Error)
	}
	return "  replied to " + to + ": " + string(a.Body)
}
