package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/supervisor"
)

// The headers of the dead-letter contract: a message whose handler failed
// for good carries them into its error queue (docs/architecture.md, "Dead
// letters").
const (
	hdrPrefix           = "x-warren-"
	hdrError            = "x-warren-error"
	hdrListener         = "x-warren-listener"
	hdrQueue            = "x-warren-queue"
	hdrAttempts         = "x-warren-attempts"
	hdrOriginalExchange = "x-warren-original-exchange"
	hdrOriginalKey      = "x-warren-original-routing-key"
	hdrFailedAt         = "x-warren-failed-at"
	hdrBroker           = "x-warren-broker"
	hdrRequeued         = "x-warren-requeued"
)

const (
	// defaultErrorsCount is how many messages warren errors reads by default.
	defaultErrorsCount = 100
	// defaultErrorsTimeout bounds the listing (or the requeue) once a broker
	// is up.
	defaultErrorsTimeout = 30 * time.Second
	// giveBackTimeout bounds the nack that gives the listed messages back,
	// also after --timeout ended or an interrupt.
	giveBackTimeout = 5 * time.Second
)

func newErrorsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "errors QUEUE",
		Short: "List the messages of an error queue, or send them back where they came from",
		Long: "errors runs its own supervision tree (brokers from --config or --url) and lists\n" +
			"the first --count messages of QUEUE (a listener's <queue>_error, or any queue of\n" +
			"messages with Warren's x-warren-* headers) without consuming them: it reads them\n" +
			"with basic.get, unacknowledged, and gives them back, so the queue is left as it was.\n" +
			"With --requeue it publishes each one, confirmed, to its original exchange and\n" +
			"routing key (its x-warren-* headers removed, x-warren-requeued counted up) and only\n" +
			"then removes it from QUEUE; one that cannot be sent back stays there and is named\n" +
			"(and the command exits 1).",
		Example: "  export WARREN_AMQP_URI=amqp://guest:guest@127.0.0.1:5672/   # not --url: ps would show the password\n" +
			"  warren errors orders_error\n" +
			"  warren errors orders_error --json | jq '.[].error'\n" +
			"  warren errors orders_error --requeue --count 10",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("%s takes one QUEUE argument, got %d", cmd.CommandPath(), len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.errorQueue(cmd, args[0]) },
	}
	addTreeFlags(cmd)
	addLogFlagsAt(cmd, "warn")
	cmd.Flags().Int("count", defaultErrorsCount, "read at most `N` messages from the head of the queue")
	cmd.Flags().Bool("requeue", false, "publish each message read to its original exchange and routing key, then remove it from the queue")
	cmd.Flags().Bool("json", false, "print the messages (or what --requeue did) as a JSON array")
	cmd.Flags().Duration("timeout", defaultErrorsTimeout, "how long the listing or the requeue may take once a broker is up")
	return cmd
}

func (a *app) errorQueue(cmd *cobra.Command, queue string) error {
	count, _ := cmd.Flags().GetInt("count")
	requeue, _ := cmd.Flags().GetBool("requeue")
	asJSON, _ := cmd.Flags().GetBool("json")
	timeout, _ := cmd.Flags().GetDuration("timeout")
	switch {
	case queue == "":
		return &usageError{errors.New("QUEUE is empty: name the error queue, e.g. orders_error")}
	case count < 1:
		return &usageError{fmt.Errorf("--count %d: must be at least 1", count)}
	case timeout <= 0:
		return &usageError{fmt.Errorf("--timeout %v: must be positive", timeout)}
	}
	t, ctx, done, err := a.clientTree(cmd, noRPC)
	if err != nil {
		return err
	}
	defer done()
	cfg, _ := a.treeConfig(cmd) // read once already by clientTree: no error now
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h, err := holdChannel(octx, t, timeout)
	if err != nil {
		return interrupted(ctx, err)
	}
	defer h.release()
	msgs, inQueue, err := h.fetch(octx, queue, count)
	defer h.giveBack(msgs) // every message not acked off the queue goes back, in order
	if err != nil {
		return interrupted(ctx, err)
	}
	if !requeue {
		if err := renderErrorList(a.stdout, msgs, asJSON); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "warren: %s on broker %s: %s, %d listed and left in the queue%s\n",
			queue, h.broker, plural(int64(inQueue), "message"), len(msgs), moreThan(inQueue, len(msgs)))
		return nil
	}
	results, err := h.requeue(octx, t.Env(), msgs, brokerUser(cfg, h.broker))
	if rerr := renderRequeue(a.stdout, queue, results, asJSON); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return interrupted(ctx, err)
	}
	if more := inQueue - len(msgs); more > 0 {
		fmt.Fprintf(a.stderr, "warren: %d more in %s than --count %d took: run again for them\n", more, queue, len(msgs))
	}
	var left []string
	for _, r := range results {
		if !r.Requeued {
			left = append(left, fmt.Sprintf("#%d", r.Position))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("%s left in %s: %s", plural(int64(len(left)), "message"), queue, strings.Join(left, ", "))
	}
	return nil
}

// interrupted turns err into errInterrupted when the command's own ctx
// ended (SIGINT or SIGTERM) rather than its --timeout.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

// moreThan says how many messages of the queue were not listed.
func moreThan(inQueue, listed int) string {
	if inQueue > listed {
		return fmt.Sprintf(" (%d more past --count)", inQueue-listed)
	}
	return ""
}

// brokerUser is the user the tree logs in to broker with ("guest" when its
// URI names none).
func brokerUser(cfg supervisor.Config, broker string) string {
	for _, z := range cfg.Zones {
		for _, uri := range z.Brokers {
			if id, err := actors.BrokerID(uri); err == nil && id == broker {
				if u, err := amqp.ParseURI(strings.TrimSpace(uri)); err == nil {
					return u.Username
				}
			}
		}
	}
	return ""
}

// heldChannel is a raw channel the command holds through the tree's
// assignments actor (the consumer protocol), used from the command's
// goroutine only: amqp091 channels are not for concurrent use.
type heldChannel struct {
	ch      *amqp.Channel
	link    *actors.Link // the connection's socket: aborted when a wait outlives its ctx
	broker  string
	limit   time.Duration // --timeout, for errors
	release func()        // gives the channel back (the assignments actor closes it)
}

// holdChannel asks the tree's assignments actor for a channel and waits,
// within ctx, for it. A short-lived actor of the command receives the
// assignment and passes it on without blocking its mailbox.
func holdChannel(ctx context.Context, t *supervisor.Tree, limit time.Duration) (*heldChannel, error) {
	got := make(chan *actors.ChannelAssigned, 1)
	root := t.System().Root
	pid := root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*actors.ChannelAssigned); ok {
			select {
			case got <- m: // the first; a replacement after a loss is not used
			default:
			}
		}
	}))
	assignments := t.PID(actors.AssignmentsName)
	release := func() {
		root.Send(assignments, &actors.ReleaseChannel{Consumer: pid})
		root.Stop(pid)
	}
	root.Send(assignments, &actors.RequestChannel{Consumer: pid, App: "warren-errors"})
	select {
	case m := <-got:
		return &heldChannel{ch: m.Channel, link: m.Link, broker: m.Broker, limit: limit, release: release}, nil
	case <-ctx.Done():
		release()
		return nil, fmt.Errorf("no channel from the tree's assignments within --timeout %v", limit)
	}
}

// do runs op, a call on the channel that waits for the broker, bounded by
// ctx: when ctx ends first, the connection's socket is aborted so that op
// returns (the broker then gives back every unacked message of the
// channel). The error names what and the broker.
func (h *heldChannel) do(ctx context.Context, what string, op func() error) error {
	var err error
	if h.link != nil {
		err = h.link.Guard(ctx, op)
	} else { // no socket to abort: op is left to the tree's shutdown
		res := make(chan error, 1)
		go func() { res <- op() }()
		select {
		case err = <-res:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s on broker %s: no answer within --timeout %v", what, h.broker, h.limit)
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("%s on broker %s: %d %s", what, h.broker, ae.Code, ae.Reason)
	}
	return fmt.Errorf("%s on broker %s: %s", what, h.broker, redact.Error(err))
}

// fetch reads up to count messages from the head of queue with basic.get,
// unacknowledged, and returns them with the number of messages the queue
// held. A queue that does not exist is the broker's 404, naming it.
func (h *heldChannel) fetch(ctx context.Context, queue string, count int) ([]amqp.Delivery, int, error) {
	var q amqp.Queue
	err := h.do(ctx, fmt.Sprintf("queue %q", queue), func() error {
		var err error
		q, err = h.ch.QueueDeclarePassive(queue, false, false, false, false, nil)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var msgs []amqp.Delivery
	for len(msgs) < count {
		var d amqp.Delivery
		var ok bool
		err := h.do(ctx, fmt.Sprintf("basic.get from %q", queue), func() error {
			var err error
			d, ok, err = h.ch.Get(queue, false)
			return err
		})
		if err != nil {
			return msgs, q.Messages, err
		}
		if !ok {
			break
		}
		msgs = append(msgs, d)
	}
	return msgs, max(q.Messages, len(msgs)), nil
}

// giveBack nacks, with requeue, every message of msgs not acked yet: one
// basic.nack (multiple) up to the last delivery tag. The broker puts them
// back at the head of the queue in their order. Should it fail, closing
// the channel gives them back all the same.
func (h *heldChannel) giveBack(msgs []amqp.Delivery) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), giveBackTimeout)
	defer cancel()
	last := msgs[len(msgs)-1].DeliveryTag
	_ = h.do(ctx, "basic.nack", func() error { return h.ch.Nack(last, true, true) })
}

// requeueResult is what --requeue did with one message.
type requeueResult struct {
	Position   int    `json:"position"`
	MessageID  string `json:"message_id,omitempty"`
	Exchange   string `json:"exchange"`
	RoutingKey string `json:"routing_key"`
	Requeued   bool   `json:"requeued"`
	// Reason says why the message stayed in the error queue, or what of it
	// was not kept.
	Reason string `json:"reason,omitempty"`
}

// requeue publishes each message of msgs to its original exchange and
// routing key on the held channel, in confirm mode and mandatory, and acks
// it off the error queue once the broker confirmed it. A message without
// an original exchange, to an exchange the broker lacks, returned as
// unroutable or nacked stays in the queue. It stops at the first error
// that leaves the channel unusable (the messages not yet acked go back to
// the queue when it closes).
func (h *heldChannel) requeue(ctx context.Context, env *actors.Env, msgs []amqp.Delivery, user string) ([]requeueResult, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	if err := h.do(ctx, "confirm.select", func() error { return h.ch.Confirm(false) }); err != nil {
		return nil, err
	}
	// One publish at a time: at most one return waits here, and it comes
	// before its publish's confirm (both are read by the same goroutine).
	returns := h.ch.NotifyReturn(make(chan amqp.Return, 1))
	closed := h.ch.NotifyClose(make(chan *amqp.Error, 1))
	var exchanges actors.ExchangeCache
	exchanges.SetEnv(env)
	var results []requeueResult
	for i, d := range msgs {
		r := requeueResult{Position: i + 1, MessageID: d.MessageId}
		ex, ok := headerString(d.Headers, hdrOriginalExchange)
		r.RoutingKey, _ = headerString(d.Headers, hdrOriginalKey)
		if !ok {
			r.Reason = "no " + hdrOriginalExchange + " header"
			results = append(results, r)
			continue
		}
		r.Exchange = ex
		if err := exchanges.Check(ctx, h.link, h.broker, ex); err != nil {
			if !errors.Is(err, actors.ErrNoExchange) {
				return results, fmt.Errorf("message #%d: %s", r.Position, redact.Error(err))
			}
			r.Reason = strings.TrimPrefix(redact.Error(err), "warren: ") // names the exchange and the broker's 404
			results = append(results, r)
			continue
		}
		pub, dropped := requeuePublishing(d, user)
		if dropped != "" {
			r.Reason = fmt.Sprintf("user-id %q dropped: the broker takes only the publishing user's", dropped)
		}
		var dc *amqp.DeferredConfirmation
		what := fmt.Sprintf("message #%d: publish to exchange %q", r.Position, ex)
		if err := h.do(ctx, what, func() error {
			var err error
			dc, err = h.ch.PublishWithDeferredConfirmWithContext(ctx, ex, r.RoutingKey, true, false, pub)
			return err
		}); err != nil {
			return results, err
		}
		acked, err := dc.WaitContext(ctx)
		if err != nil {
			return results, fmt.Errorf("%s on broker %s: no confirm within --timeout %v", what, h.broker, h.limit)
		}
		select {
		case ret, ok := <-returns:
			if ok {
				r.Reason = fmt.Sprintf("returned by the broker: %d %s", ret.ReplyCode, ret.ReplyText)
				results = append(results, r)
				continue
			}
		default:
		}
		if !acked {
			select {
			case e, ok := <-closed:
				if ok && e != nil {
					return results, fmt.Errorf("%s on broker %s: the channel closed: %d %s", what, h.broker, e.Code, e.Reason)
				}
				return results, fmt.Errorf("%s on broker %s: the channel closed", what, h.broker)
			default:
			}
			r.Reason = "nacked by the broker"
			results = append(results, r)
			continue
		}
		tag := d.DeliveryTag
		if err := h.do(ctx, fmt.Sprintf("message #%d: ack", r.Position), func() error { return h.ch.Ack(tag, false) }); err != nil {
			return results, fmt.Errorf("%w (it was sent to exchange %q and stays in the error queue too)", err, ex)
		}
		r.Requeued = true
		results = append(results, r)
	}
	return results, nil
}

// requeuePublishing is d as it is sent back: its body and properties, its
// headers without the x-warren-* ones but x-warren-requeued, counted up.
// A user-id other than user is dropped (RabbitMQ refuses a publish whose
// user-id is not the connection's user, closing the channel) and returned.
func requeuePublishing(d amqp.Delivery, user string) (amqp.Publishing, string) {
	h := amqp.Table{}
	requeued := int64(0)
	for k, v := range d.Headers {
		if !strings.HasPrefix(k, hdrPrefix) {
			h[k] = v
		} else if k == hdrRequeued {
			requeued, _ = headerInt(d.Headers, hdrRequeued)
		}
	}
	h[hdrRequeued] = int32(requeued + 1)
	p := amqp.Publishing{
		Headers: h, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, DeliveryMode: d.DeliveryMode,
		Priority: d.Priority, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo, Expiration: d.Expiration,
		MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, UserId: d.UserId, AppId: d.AppId, Body: d.Body,
	}
	if p.UserId != "" && p.UserId != user {
		dropped := p.UserId
		p.UserId = ""
		return p, dropped
	}
	return p, ""
}

// headerString reads a string header (AMQP long string, or bytes).
func headerString(h amqp.Table, k string) (string, bool) {
	switch v := h[k].(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// headerInt reads an integer header of any AMQP integer width.
func headerInt(h amqp.Table, k string) (int64, bool) {
	switch v := h[k].(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	}
	return 0, false
}

// headerTime reads a timestamp header (or an RFC 3339 string).
func headerTime(h amqp.Table, k string) (time.Time, bool) {
	switch v := h[k].(type) {
	case time.Time:
		return v.UTC(), true
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// printJSONValue writes v as indented JSON and a newline.
func printJSONValue(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
