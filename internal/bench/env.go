package bench

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/supervisor"
)

// env is what the scenarios share: one Warren tree and one raw amqp091
// connection to the same broker.
type env struct {
	opts     Options
	brokerID string
	tree     *supervisor.Tree
	raw      *amqp.Connection
	seq      int     // names the scenarios' queues apart
	fed      *fedRig // the federation scenario's second node and tree; nil until it runs
	// warmed holds the sides of the idle scenario that ran once unmeasured
	// (see idleWarmUp).
	warmed map[string]bool
}

func newEnv(ctx context.Context, opts Options) (*env, error) {
	id, err := actors.BrokerID(opts.URL)
	if err != nil {
		return nil, err
	}
	raw, err := amqp.DialConfig(opts.URL, amqp.Config{Heartbeat: 10 * time.Second, Properties: amqp.Table{"connection_name": "warren-bench-raw"}})
	if err != nil {
		return nil, fmt.Errorf("bench: dial %s: %s", id, redact.Error(err))
	}
	tree, err := startTree(ctx, opts)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return &env{opts: opts, brokerID: id, tree: tree, raw: raw}, nil
}

// startTree starts the tree the scenarios measure and waits until it is
// ready (within 30 s).
func startTree(ctx context.Context, opts Options) (*supervisor.Tree, error) {
	tree, err := supervisor.Start(supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{opts.URL}}}},
		supervisor.WithLogger(opts.Log))
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tree.WaitReady(wctx); err != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer scancel()
		_ = tree.Shutdown(sctx)
		return nil, fmt.Errorf("bench: the tree is not ready: %w", err)
	}
	return tree, nil
}

// shutdownTree shuts the tree down within d: its listeners drain in one
// pass, where stopping thousands one by one would list them all for each.
func (e *env) shutdownTree(ctx context.Context, d time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := e.tree.Shutdown(sctx); err != nil {
		return fmt.Errorf("bench: shutting the tree down: %w", err)
	}
	return nil
}

// freshNode kills the node, runs whileDown, and starts the node again
// (its queues are not durable: it comes back empty), then redials the
// raw connection. A side that leaves thousands of queues behind ends with
// it: the broker deleting them would slow the next side, and asking it
// (rabbitmqctl list_queues) while it does takes more than a minute.
func (e *env) freshNode(ctx context.Context, whileDown func() error) error {
	if err := e.opts.Node.Kill(); err != nil {
		return fmt.Errorf("bench: killing the node: %w", err)
	}
	downErr := whileDown()
	if err := e.opts.Node.Start(ctx); err != nil {
		return fmt.Errorf("bench: starting the node again: %w", err)
	}
	if downErr != nil {
		return downErr
	}
	return e.redialRaw()
}

func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if e.fed != nil {
		e.fed.close()
	}
	_ = e.tree.Shutdown(ctx)
	_ = e.raw.Close()
}

// queue declares a fresh auto-delete-free queue for one round and returns
// its name; the round deletes it.
func (e *env) queue(prefix string, args amqp.Table) (string, *amqp.Channel, error) {
	e.seq++
	ch, err := e.raw.Channel()
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("warren-bench-%s-%d", prefix, e.seq)
	if e.opts.Sink && args != nil {
		return name, ch, nil // a null broker keeps every message: publish to no queue
	}
	if _, err := ch.QueueDeclare(name, false, false, false, false, args); err != nil {
		ch.Close()
		return "", nil, err
	}
	return name, ch, nil
}

// drop deletes queue and closes ch.
func drop(ch *amqp.Channel, queue string) {
	_, _ = ch.QueueDelete(queue, false, false, false)
	_ = ch.Close()
}
