package rpc_test

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// rawResponder answers, on nb, every request routed to callmgr/key the
// Kazoo way (to targeted, under the request's Server-ID) with Event-Name
// name. Each request is announced on got, then held until gate is closed
// (nil: answered at once).
func rawResponder(t *testing.T, nb *nullbroker.Server, name, key string, got chan<- string, gate <-chan struct{}) {
	t.Helper()
	ch := testkit.AMQPChannel(t, nb.URL())
	if err := ch.ExchangeDeclare(kazoo.ExchangeCallmgr, kazoo.KindTopic, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, key, kazoo.ExchangeCallmgr, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // ends when the connection closes
		for d := range deliveries {
			req, err := kazoo.Parse(d.Body)
			if err != nil {
				continue
			}
			if got != nil {
				got <- req.MsgID()
			}
			if gate != nil {
				<-gate
			}
			rep, err := kazoo.NewReply(req, map[string]any{"Event-Category": "test", "Event-Name": name}, app)
			if err != nil {
				continue
			}
			body, _ := rep.Marshal()
			exchange, rk, ok := req.ReplyTo()
			if !ok {
				continue
			}
			_ = ch.PublishWithContext(context.Background(), exchange, rk, false, false,
				amqp.Publishing{ContentType: kazoo.ContentType, CorrelationId: d.CorrelationId, Body: body})
		}
	}()
}

func TestCall_WorkerFollowsAMove(t *testing.T) {
	a, b := treetest.NullBroker(t, nullbroker.Config{}), treetest.NullBroker(t, nullbroker.Config{})
	cfg := supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{a.URL(), b.URL()}}},
		RPC: rpc.Config{Workers: 1, Node: "test@host"}, Prechannels: -1}
	cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.Publish.Publishers = -1
	tree, _ := treetest.Start(t, cfg)
	start := waitWorkers(t, tree, "the worker ready", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].State == registry.WorkerReady
	})[0]
	ida, _ := actors.BrokerID(a.URL())
	idb, _ := actors.BrokerID(b.URL())
	if start.Broker != actors.ConnID(ida, registry.Publish) { // a: the broker the worker is on, to be drained
		a, b, ida, idb = b, a, idb, ida
	}
	pubA, pubB := actors.ConnID(ida, registry.Publish), actors.ConnID(idb, registry.Publish) // workers publish
	for _, id := range []string{ida, pubA, idb, pubB} {
		if _, err := tree.Registry().WaitConnection(within(t, 5*time.Second), id, func(c registry.Connection) bool { return c.Available }); err != nil {
			t.Fatal(err)
		}
	}
	seenA, gateA := make(chan string, 4), make(chan struct{})
	rawResponder(t, a, "from-a", "ping.drain", seenA, gateA)
	rawResponder(t, b, "from-b", "ping.drain", nil, nil)

	inFlight := make(chan error, 1)
	go func() {
		reply, err := tree.Call(within(t, 10*time.Second), request("ping.drain"))
		if err == nil && reply.Name() != "from-a" {
			t.Errorf("the call in flight answered by %q, want from-a", reply.Name())
		}
		inFlight <- err
	}()
	testkit.Recv(t, seenA, 5*time.Second, "the first call at the primary")
	drained := make(chan error, 1)
	ctx := within(t, 10*time.Second)
	go func() { drained <- tree.DrainBroker(ctx, ida) }()
	waitWorkers(t, tree, "the worker ready on the other broker", func(rows []registry.RPCWorker) bool {
		return len(rows) == 1 && rows[0].State == registry.WorkerReady && rows[0].Broker == pubB && rows[0].Queue != start.Queue
	})
	reply, err := tree.Call(within(t, 5*time.Second), request("ping.drain"))
	if err != nil || reply.Name() != "from-b" {
		t.Fatalf("a new call during the move = %v, %v: want from-b", reply, err)
	}
	select {
	case err := <-drained:
		t.Fatalf("DrainBroker returned %v while a call waited on the old channel", err)
	default:
	}
	var held []registry.Assignment
	err = tree.Registry().Wait(within(t, 5*time.Second), func(s *registry.Snapshot) (bool, error) {
		held = s.HeldFloats(ida, pubA)
		return len(held) == 1 && held[0].State == registry.Moving, nil
	})
	if err != nil {
		t.Fatalf("rows held on the drained broker %+v: want the worker's old channel, moving: %v", held, err)
	}
	close(gateA)
	if err := <-inFlight; err != nil {
		t.Fatalf("the call in flight: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("DrainBroker: %v", err)
	}
}
