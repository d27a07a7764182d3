package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/redact"
)

// DefaultListeners is the count of the listeners scenario when it is named
// in Options.Only and Options.Listeners is empty.
const DefaultListeners = 5000

// rawChannelsPerConn is how many consumers the raw side puts on one
// connection: below RabbitMQ's default channel_max (2,047), as Warren's
// placement spills onto another connection when a broker's channels run out.
const rawChannelsPerConn = 2000

// Goals of the footprint of a consuming listener, on values (the raw side
// is printed beside them, not compared). docs/TESTING.md's scale suite
// measured 20,000 consuming listeners at 15.2 KB (14.9 KiB) of heap and
// 2.00 goroutines each; an idle listener of the idle scenario (200 of them)
// is about 7 KiB. A listener that consumes costs more than that one: among
// thousands, the registry's tables and indexes, amqp091's channel maps and
// the assignments' bookkeeping grow with it, and the connections the tree
// opens past channel_max count too. 16 KiB is the scale suite's figure
// with a margin of about 8 % (this scenario measured 12.8-15.8 KiB at
// 5,000-20,000), so that a regression of a KiB per listener (20 MiB at
// 20,000) shows. The goroutines are the idle listener's two (the
// forwarder, amqp091's consumer goroutine) plus each extra connection's
// few (its reader, heartbeater, the connection actor's helpers), shared by
// 2,000 listeners: 2.01 lets those through and fails a third goroutine per
// listener, or one more per hundred listeners.
const (
	listenerHeapGoalKiB    = 16
	listenerGoroutinesGoal = 2.01
)

// listenersScenario is the scenario of n listeners: the time until all of
// them consume from a cold start, the heap and goroutines per consuming
// listener, and the time until all consume again after the node is killed
// and started again. It runs only on the bench's own node.
func listenersScenario(n int) scenario {
	return scenario{name: "listeners", node: true, figures: []figure{
		{name: fmt.Sprintf("%d listeners consuming from a cold start", n), unit: "ms", goal: 1.0},
		{name: fmt.Sprintf("%d consuming listeners, heap per listener", n), unit: "KiB", goal: listenerHeapGoalKiB, goalOn: "value"},
		{name: fmt.Sprintf("%d consuming listeners, goroutines per listener", n), unit: "goroutines", goal: listenerGoroutinesGoal, goalOn: "value"},
		{name: fmt.Sprintf("%d listeners consuming again after a restart", n), unit: "ms", goal: 1.0}},
		raw:    func(ctx context.Context, e *env) ([]float64, error) { return rawListeners(ctx, e, n) },
		warren: func(ctx context.Context, e *env) ([]float64, error) { return warrenListeners(ctx, e, n) },
	}
}

// listenersCounts is what the listeners scenario runs: one scenario per
// count of opts.Listeners, DefaultListeners when it is named in opts.Only
// without counts, none otherwise (it takes minutes at 20,000).
func listenersCounts(opts Options) []int {
	named := contains(opts.Only, "listeners")
	switch {
	case len(opts.Listeners) > 0 && (named || len(opts.Only) == 0):
		return opts.Listeners
	case named:
		return []int{DefaultListeners}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// warrenListeners spawns n listeners (a queue each, bound to callevt as a
// Kazoo listener is) one after the other, as a service starting would, and
// times them to all consuming; then the heap and goroutines they hold;
// then kills and restarts the node and times them to all consuming again
// from its port reopening. The broker is asked both times that every queue
// has its consumer. It ends with a fresh node and a fresh tree: the tree is
// shut down while the node is down (stopping thousands of listeners one by
// one costs more than the scenario, each stop listing them all).
func warrenListeners(ctx context.Context, e *env, n int) (vals []float64, err error) {
	e.seq++
	prefix := fmt.Sprintf("warren-bench-listeners-%d-", e.seq)
	defer func() {
		rerr := e.freshNode(ctx, func() error { return e.shutdownTree(ctx, 5*time.Minute) })
		if rerr == nil {
			e.tree, rerr = startTree(ctx, e.opts)
		}
		if err == nil {
			err = rerr
		}
	}()
	handler := func(context.Context, *listener.Delivery) error { return nil }
	h0, g0 := footprint()
	start := time.Now()
	pids := make([]*actor.PID, 0, n)
	for i := range n {
		name := prefix + strconv.Itoa(i)
		pid, err := e.tree.SpawnListener(ctx, listener.Spec{Name: name, Queue: listener.QueueSpec{Name: name, AutoDelete: true},
			Bindings: []listener.Binding{{Exchange: "callevt", RoutingKey: name}},
			Handlers: []listener.Route{{Handler: handler}}})
		if err != nil {
			return nil, fmt.Errorf("spawn listener %d of %d: %w", i+1, n, err)
		}
		pids = append(pids, pid)
	}
	if err := waitAllConsuming(ctx, e, pids); err != nil {
		return nil, err
	}
	cold := time.Since(start)
	h1, g1 := footprint()
	if err := e.brokerConsumes(ctx, prefix, n); err != nil {
		return nil, err
	}
	opened, err := e.restartNode(ctx)
	if err != nil {
		return nil, err
	}
	if err := waitAllConsuming(ctx, e, pids); err != nil {
		return nil, fmt.Errorf("after the restart: %w", err)
	}
	again := time.Since(opened)
	if err := e.brokerConsumes(ctx, prefix, n); err != nil {
		return nil, fmt.Errorf("after the restart: %w", err)
	}
	per := perItem(h0, h1, g0, g1, n)
	return []float64{ms(cold), per[0], per[1], ms(again)}, nil
}

// waitAllConsuming waits until every listener of pids consumes, each on
// its own row (a count over the whole table on every change would cost
// the tree's cores more than the listeners do at 20,000).
func waitAllConsuming(ctx context.Context, e *env, pids []*actor.PID) error {
	for i, pid := range pids {
		if err := e.tree.WaitConsuming(ctx, pid); err != nil {
			return fmt.Errorf("listener %d of %d not consuming: %w (degraded: %q)", i+1, len(pids), err, e.tree.Degraded())
		}
	}
	return nil
}

// rawListeners is warrenListeners with raw amqp091-go: connections of
// rawChannelsPerConn consumers each, dialled at once, then for each
// consumer (all concurrently, as a client with its own recovery would)
// channel, prefetch, queue, bind, consume; then the same again after the
// node's restart, timed from its port reopening. It ends with a fresh
// node, as warrenListeners does.
func rawListeners(ctx context.Context, e *env, n int) (vals []float64, err error) {
	e.seq++
	prefix := fmt.Sprintf("warren-bench-raw-listeners-%d-", e.seq)
	h0, g0 := footprint()
	start := time.Now()
	fleet, err := startRawConsumers(ctx, e.opts.URL, prefix, n)
	defer func() { // the node first: closing a connection waits for the broker's close-ok
		if ferr := e.freshNode(ctx, func() error { fleet.close(); return nil }); err == nil {
			err = ferr
		}
	}()
	if err != nil {
		return nil, err
	}
	cold := time.Since(start)
	h1, g1 := footprint()
	if err := e.brokerConsumes(ctx, prefix, n); err != nil {
		return nil, err
	}
	opened, err := e.restartNode(ctx)
	if err != nil {
		return nil, err
	}
	fleet.close() // dead with the node
	fleet, err = startRawConsumers(ctx, e.opts.URL, prefix, n)
	if err != nil {
		return nil, fmt.Errorf("after the restart: %w", err)
	}
	again := time.Since(opened)
	if err := e.brokerConsumes(ctx, prefix, n); err != nil {
		return nil, fmt.Errorf("after the restart: %w", err)
	}
	per := perItem(h0, h1, g0, g1, n)
	return []float64{ms(cold), per[0], per[1], ms(again)}, nil
}

// rawConsumers are the raw side's connections and its consumers'
// delivery chans (kept, as a consumer keeps them).
type rawConsumers struct {
	conns      []*amqp.Connection
	deliveries []<-chan amqp.Delivery
}

func (f *rawConsumers) close() {
	for _, c := range f.conns {
		if c != nil {
			_ = c.Close()
		}
	}
	f.conns, f.deliveries = nil, nil
}

// startRawConsumers dials the connections n consumers need and starts
// them, queues prefix0..prefix<n-1>, all concurrently; it returns once all
// consume, or with the first error (what it dialled is in the result, to
// close).
func startRawConsumers(ctx context.Context, uri, prefix string, n int) (*rawConsumers, error) {
	f := &rawConsumers{conns: make([]*amqp.Connection, (n+rawChannelsPerConn-1)/rawChannelsPerConn),
		deliveries: make([]<-chan amqp.Delivery, n)}
	errs := make(chan error, n+len(f.conns))
	var wg sync.WaitGroup
	for k := range f.conns {
		wg.Go(func() {
			c, err := amqp.DialConfig(uri, amqp.Config{Heartbeat: 10 * time.Second,
				Properties: amqp.Table{"connection_name": fmt.Sprintf("warren-bench-raw-listeners-%d", k)}})
			if err != nil {
				errs <- fmt.Errorf("dial raw connection %d: %s", k+1, redact.Error(err))
				return
			}
			f.conns[k] = c
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return f, err
	}
	// The exchange is Kazoo's, not durable: gone after a restart, and
	// declared again as Warren's connection does.
	ch, err := f.conns[0].Channel()
	if err == nil {
		err = ch.ExchangeDeclare("callevt", "topic", false, false, false, false, nil)
		_ = ch.Close()
	}
	if err != nil {
		return f, fmt.Errorf("declare exchange callevt: %w", err)
	}
	for i := range n {
		wg.Go(func() {
			if err := ctx.Err(); err != nil {
				errs <- err
				return
			}
			name := prefix + strconv.Itoa(i)
			d, err := rawConsumer(f.conns[i/rawChannelsPerConn], name)
			if err != nil {
				errs <- fmt.Errorf("raw consumer %s: %w", name, err)
				return
			}
			f.deliveries[i] = d
		})
	}
	wg.Wait()
	return f, firstError(errs)
}

// rawConsumer opens a channel of conn, sets a listener's prefetch and
// declares, binds and consumes from queue.
func rawConsumer(conn *amqp.Connection, queue string) (<-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(listener.DefaultPrefetch, 0, false); err != nil {
		return nil, err
	}
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		return nil, err
	}
	if err := ch.QueueBind(queue, queue, "callevt", false, nil); err != nil {
		return nil, err
	}
	return ch.Consume(queue, "", false, false, false, false, nil)
}

// firstError returns the first error errs holds, nil when it holds none;
// nothing sends on errs any more.
func firstError(errs chan error) error {
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// brokerQueues asks the node (rabbitmqctl list_queues) how many of its
// queues are named prefix… and how many of those have a consumer.
func (e *env) brokerQueues(ctx context.Context, prefix string) (queues, consumed int, err error) {
	out, err := e.opts.Node.Ctl(ctx, "list_queues", "name", "consumers", "--quiet", "--no-table-headers")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		queues++
		if c, err := strconv.Atoi(f[1]); err == nil && c > 0 {
			consumed++
		}
	}
	return queues, consumed, nil
}

// brokerConsumes checks with the broker, not the tree's tables, that the
// n queues named prefix… each have a consumer.
func (e *env) brokerConsumes(ctx context.Context, prefix string, n int) error {
	queues, consumed, err := e.brokerQueues(ctx, prefix)
	if err != nil {
		return fmt.Errorf("asking the broker for its consumers: %w", err)
	}
	if queues != n || consumed != n {
		return fmt.Errorf("the broker lists %d queues %s… of which %d have a consumer, want %d and %d", queues, prefix, consumed, n, n)
	}
	return nil
}
