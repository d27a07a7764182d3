package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/rabbitnode"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/supervisor"
)

// The federation scenario's names. Both exchanges are durable topic
// exchanges on both nodes; the queues are durable and the messages
// persistent, so that a kill -9 of the remote node loses nothing it
// confirmed, on either side.
const (
	fedPluginExchange = "warren-bench-fedplugin"   // federated by the plugin (policy on the local node)
	fedPluginQueue    = "warren-bench-fedplugin-q" // on the local node, bound to it with "#"
	fedWarrenExchange = "warren-bench-fedwarren"   // bound by Warren's federated listener
	fedListener       = "warren-bench-fed"         // its queue is "<name>-q", its federator's "<name>-q-local"
	fedUpstream       = "warren-bench-remote"      // the plugin's federation-upstream parameter
	// fedReconnectDelay is the upstream's reconnect-delay in seconds: the
	// plugin retries a lost link at this fixed interval (its default is 5).
	fedReconnectDelay = 1
)

// fedRig is the federation scenario's two zones: the bench's own node
// (Options.Node) as the remote zone, and a second node of its own, with
// the federation plugin, as the local zone. On it run the plugin's link
// (exchange federation of fedPluginExchange, consumed by a raw amqp091
// consumer) and Warren's (a tree of both zones with a federated listener
// on fedWarrenExchange). Both consumers hand their deliveries to sink.
//
// Owner: the goroutine running the scenario; set up once, on first use,
// and closed with the env.
type fedRig struct {
	dir    string
	local  *rabbitnode.Node
	conn   *amqp.Connection // raw, to the local node: the plugin side's consumer
	tree   *supervisor.Tree // zones local (the second node) and remote (Options.Node)
	sink   fedSink
	probes int64 // runs of the probes, counted down from -1
}

// fedRig returns the scenario's rig, setting it up on first use.
func (e *env) fedRig(ctx context.Context) (*fedRig, error) {
	if e.fed != nil {
		return e.fed, nil
	}
	r, err := startFedRig(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("federation rig: %w", err)
	}
	e.fed = r
	return r, nil
}

func startFedRig(ctx context.Context, e *env) (r *fedRig, err error) {
	dir, err := os.MkdirTemp("", "warren-bench-fed-")
	if err != nil {
		return nil, err
	}
	r = &fedRig{dir: dir}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	e.opts.Progress("federation: starting a second RabbitMQ node, with rabbitmq_federation, as the local zone")
	if r.local, err = rabbitnode.Start(ctx, dir, rabbitnode.WithPlugins("rabbitmq_federation")); err != nil {
		return r, fmt.Errorf("start the local node: %w", err)
	}
	if err = declareFedTopology(e.raw, r.local.URI()); err != nil {
		return r, err
	}
	if err = r.startPluginLink(ctx, e.opts.Node); err != nil {
		return r, err
	}
	if err = r.startListener(ctx, e.opts); err != nil {
		return r, err
	}
	for _, x := range []string{fedPluginExchange, fedWarrenExchange} {
		if err = r.probe(ctx, e.opts.URL, x); err != nil {
			return r, err
		}
	}
	// The upstream queue and the federator's are declared: write them to
	// disk, so that a kill -9 does not take them away.
	return r, e.opts.Node.SyncMetadata(ctx)
}

// declareFedTopology declares both exchanges on the remote node (remote,
// a connection to it) and, on the local node (URI local), the plugin's
// exchange and its queue.
func declareFedTopology(remote *amqp.Connection, local string) error {
	ch, err := remote.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, x := range []string{fedPluginExchange, fedWarrenExchange} {
		if err := ch.ExchangeDeclare(x, "topic", true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare %s on the remote node: %w", x, err)
		}
	}
	conn, err := amqp.Dial(local)
	if err != nil {
		return fmt.Errorf("dial the local node: %s", redact.Error(err))
	}
	defer conn.Close()
	lch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := lch.ExchangeDeclare(fedPluginExchange, "topic", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s on the local node: %w", fedPluginExchange, err)
	}
	if _, err := lch.QueueDeclare(fedPluginQueue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s on the local node: %w", fedPluginQueue, err)
	}
	return lch.QueueBind(fedPluginQueue, "#", fedPluginExchange, false, nil)
}

// startPluginLink federates fedPluginExchange of the local node from the
// remote node (an upstream and a policy, with rabbitmqctl on the local
// node), and consumes fedPluginQueue with raw amqp091 (manual ack, the
// listeners' default prefetch).
func (r *fedRig) startPluginLink(ctx context.Context, remote *rabbitnode.Node) error {
	// "%2F", not "/": to the Erlang client a bare "/" path is the vhost "".
	upstream := fmt.Sprintf(`{"uri":%q,"reconnect-delay":%d}`, remote.VHostURI("/"), fedReconnectDelay)
	if _, err := r.local.Ctl(ctx, "set_parameter", "federation-upstream", fedUpstream, upstream); err != nil {
		return err
	}
	if _, err := r.local.Ctl(ctx, "set_policy", "--apply-to", "exchanges", "warren-bench-fed",
		"^"+fedPluginExchange+"$", `{"federation-upstream-set":"all"}`); err != nil {
		return err
	}
	conn, err := amqp.DialConfig(r.local.URI(), amqp.Config{Heartbeat: 10 * time.Second,
		Properties: amqp.Table{"connection_name": "warren-bench-fed-raw"}})
	if err != nil {
		return fmt.Errorf("dial the local node: %s", redact.Error(err))
	}
	r.conn = conn
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(listener.DefaultPrefetch, 0, false); err != nil {
		return err
	}
	deliveries, err := ch.Consume(fedPluginQueue, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	go func() {
		for d := range deliveries { // ends when conn closes
			r.sink.deliver(d.Body)
			_ = d.Ack(false)
		}
	}()
	return nil
}

// startListener starts a tree of both zones and its federated listener on
// fedWarrenExchange, and waits until its federator consumes on the remote
// node.
func (r *fedRig) startListener(ctx context.Context, opts Options) error {
	tree, err := supervisor.Start(supervisor.Config{LocalZone: "local", Zones: []supervisor.Zone{
		{Name: "local", Brokers: []string{r.local.URI()}}, {Name: "remote", Brokers: []string{opts.URL}}}},
		supervisor.WithLogger(opts.Log))
	if err != nil {
		return err
	}
	r.tree = tree
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tree.WaitReady(wctx); err != nil {
		return fmt.Errorf("the tree of both zones ready: %w", err)
	}
	pid, err := tree.SpawnListener(wctx, listener.Spec{Name: fedListener, Federate: true,
		Queue:    listener.QueueSpec{Name: fedListener + "-q", Durable: true},
		Bindings: []listener.Binding{{Exchange: fedWarrenExchange, RoutingKey: "#", Declare: true, Kind: "topic", Durable: true}},
		Handlers: []listener.Route{{Handler: func(_ context.Context, d *listener.Delivery) error {
			r.sink.deliver(d.Body)
			return nil
		}}}})
	if err != nil {
		return fmt.Errorf("spawn the federated listener: %w", err)
	}
	if err := tree.WaitConsuming(wctx, pid); err != nil {
		return fmt.Errorf("the federated listener consuming: %w", err)
	}
	return nil
}

// probe publishes to exchange on the remote node (URI remote), every
// 100 ms, until one of its probes reaches a consumer on the local node:
// the link is up. It gives up after a minute.
func (r *fedRig) probe(ctx context.Context, remote, exchange string) error {
	conn, err := amqp.Dial(remote)
	if err != nil {
		return fmt.Errorf("dial the remote node: %s", redact.Error(err))
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	r.probes--
	t := newTally(r.probes)
	r.sink.cur.Store(t)
	defer r.sink.cur.Store(nil)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for seq := int64(0); ; seq++ {
		if err := ch.PublishWithContext(ctx, exchange, "probe", false, false,
			amqp.Publishing{ContentType: "application/json", Body: fedBody(t.run, seq)}); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("no probe published to %s on the remote node reached the local node within a minute; %s",
				exchange, r.linkStatus())
		}
		t.mu.Lock()
		n := len(t.at)
		t.mu.Unlock()
		if n > 0 {
			return nil
		}
	}
}

// linkStatus is what the local node says of the plugin's link, for an
// error: its status (rabbitmqctl federation_status's source) and the
// tail of its log.
func (r *fedRig) linkStatus() string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := r.local.Ctl(ctx, "eval", "rabbit_federation_status:status().")
	if err != nil {
		st = err.Error()
	}
	return "the plugin's link: " + strings.TrimSpace(st) + "\nthe local node's log:\n" + r.local.LogTail(20)
}

// close stops the tree and the consumer and kills the second node.
func (r *fedRig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if r.tree != nil {
		_ = r.tree.Shutdown(ctx) // the bench's result stands either way
	}
	if r.conn != nil {
		_ = r.conn.Close()
	}
	if r.local != nil {
		_ = r.local.Kill()
	}
	_ = os.RemoveAll(r.dir)
}
