package nullbroker

import (
	"context"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/testkit"
)

func TestBuiltinExchanges(t *testing.T) {
	s := start(t, Config{})
	names := map[string]string{}
	for _, x := range s.Exchanges() {
		names[x.Name] = x.Kind
	}
	for name, kind := range map[string]string{"": "direct", "amq.direct": "direct", "amq.topic": "topic", "amq.fanout": "fanout", "amq.headers": "headers"} {
		if names[name] != kind {
			t.Errorf("exchange %q: kind %q, want %q", name, names[name], kind)
		}
	}
	ch := open(t, dial(t, s))
	if err := ch.ExchangeDeclarePassive("amq.topic", "topic", true, false, false, false, nil); err != nil {
		t.Errorf("passive amq.topic: %v", err)
	}
}

func TestExchangeErrors(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	for _, tc := range []struct {
		name string
		do   func(ch *amqp.Channel) error
		want int
	}{
		{"passive missing", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclarePassive("nope", "direct", false, false, false, false, nil)
		}, NotFound},
		{"redeclare other type", func(ch *amqp.Channel) error {
			if err := ch.ExchangeDeclare("x1", "direct", false, false, false, false, nil); err != nil {
				return err
			}
			return ch.ExchangeDeclare("x1", "fanout", false, false, false, false, nil)
		}, PreconditionFailed},
		{"redeclare other durable", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare("x1", "direct", true, false, false, false, nil)
		}, PreconditionFailed},
		{"redeclare other auto-delete", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare("x1", "direct", false, true, false, false, nil)
		}, PreconditionFailed},
		{"reserved prefix", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare("amq.mine", "direct", false, false, false, false, nil)
		}, AccessRefused},
		{"delete amq.direct", func(ch *amqp.Channel) error {
			return ch.ExchangeDelete("amq.direct", false, false)
		}, AccessRefused},
		{"bind to missing exchange", func(ch *amqp.Channel) error {
			declare(t, ch, "bq")
			return ch.QueueBind("bq", "k", "nope", false, nil)
		}, NotFound},
		{"bind missing queue", func(ch *amqp.Channel) error {
			return ch.QueueBind("nope", "k", "amq.direct", false, nil)
		}, NotFound},
		{"bind to default exchange", func(ch *amqp.Channel) error {
			return ch.QueueBind("bq", "k", "", false, nil)
		}, AccessRefused},
		{"delete exchange in use", func(ch *amqp.Channel) error {
			if err := ch.ExchangeDeclare("x2", "direct", false, false, false, false, nil); err != nil {
				return err
			}
			if err := ch.QueueBind("bq", "k", "x2", false, nil); err != nil {
				return err
			}
			return ch.ExchangeDelete("x2", true, false)
		}, PreconditionFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := open(t, c)
			closed := ch.NotifyClose(make(chan *amqp.Error, 1))
			if err := tc.do(ch); code(err) != tc.want {
				t.Fatalf("err = %v, want %d", err, tc.want)
			}
			if err := testkit.Recv(t, closed, wait, "channel close"); err == nil || err.Code != tc.want {
				t.Fatalf("channel closed with %v", err)
			}
		})
	}
	// The connection survives channel errors.
	ch := open(t, c)
	if err := ch.ExchangeDelete("x1", false, false); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDelete("never-declared", false, false); err != nil {
		t.Fatalf("delete of a missing exchange: %v", err)
	}
}

func TestPublishToMissingExchangeClosesChannel(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	publish(t, ch, "nope", "k", "x")
	err := testkit.Recv(t, closed, wait, "channel close")
	if err == nil || err.Code != NotFound || err.Reason != "NOT_FOUND - no exchange 'nope' in vhost '/'" {
		t.Fatalf("got %#v", err)
	}
}

func TestQueueDeclare(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch := open(t, c)

	q := declare(t, ch, "")
	if !strings.HasPrefix(q.Name, "amq.gen-") || len(q.Name) != len("amq.gen-")+22 {
		t.Errorf("server-named queue %q", q.Name)
	}
	publish(t, ch, "", q.Name, "a")
	publish(t, ch, "", q.Name, "b")
	declare(t, ch, "named")
	q2, err := ch.QueueDeclarePassive(q.Name, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Messages != 2 || q2.Consumers != 0 {
		t.Errorf("declare-ok counts %+v", q2)
	}
	// Every queue is bound to the default exchange by its name.
	found := false
	for _, b := range s.Bindings() {
		if b.Source == "" && b.Destination == q.Name && b.RoutingKey == q.Name {
			found = true
		}
	}
	if !found {
		t.Errorf("no default binding for %s in %+v", q.Name, s.Bindings())
	}

	for _, tc := range []struct {
		name string
		do   func(ch *amqp.Channel) error
		want int
	}{
		{"passive missing", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive("missing", false, false, false, false, nil)
			return err
		}, NotFound},
		{"durable mismatch", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("named", true, false, false, false, nil)
			return err
		}, PreconditionFailed},
		{"auto-delete mismatch", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("named", false, true, false, false, nil)
			return err
		}, PreconditionFailed},
		{"argument mismatch", func(ch *amqp.Channel) error {
			if _, err := ch.QueueDeclare("ttl", false, false, false, false, amqp.Table{"x-message-ttl": int32(1000)}); err != nil {
				return err
			}
			_, err := ch.QueueDeclare("ttl", false, false, false, false, amqp.Table{"x-message-ttl": int64(2000)})
			return err
		}, PreconditionFailed},
		{"reserved prefix", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("amq.mine", false, false, false, false, nil)
			return err
		}, AccessRefused},
		// As in RabbitMQ, even a server-named queue cannot be redeclared
		// non-passively: its name has the reserved prefix.
		{"redeclare server-named", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(q.Name, false, false, false, false, nil)
			return err
		}, AccessRefused},
		{"delete in use", func(ch *amqp.Channel) error {
			declare(t, ch, "busy")
			consume(t, ch, "busy", true)
			_, err := ch.QueueDelete("busy", true, false, false)
			return err
		}, PreconditionFailed},
		{"delete not empty", func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(q.Name, false, true, false)
			return err
		}, PreconditionFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := open(t, c)
			closed := ch.NotifyClose(make(chan *amqp.Error, 1))
			if err := tc.do(ch); code(err) != tc.want {
				t.Fatalf("err = %v, want %d", err, tc.want)
			}
			testkit.Recv(t, closed, wait, "channel close")
		})
	}

	// Same arguments with another integer width are equivalent.
	if _, err := ch.QueueDeclare("ttl", false, false, false, false, amqp.Table{"x-message-ttl": int64(1000)}); err != nil {
		t.Fatalf("equivalent redeclare: %v", err)
	}
	n, err := ch.QueuePurge(q.Name, false)
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v", n, err)
	}
	if n, err = ch.QueueDelete(q.Name, false, true, false); err != nil || n != 0 {
		t.Fatalf("delete = %d, %v", n, err)
	}
	if _, ok := s.Queue(q.Name); ok {
		t.Error("queue still there after delete")
	}
	if _, err = ch.QueueDelete("never-declared", false, false, false); err != nil {
		t.Fatalf("delete of a missing queue: %v", err)
	}
}

func TestExclusiveQueue(t *testing.T) {
	s := start(t, Config{})
	owner := dial(t, s)
	ch := open(t, owner)
	q, err := ch.QueueDeclare("", false, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info := queueInfo(t, s, q.Name); !info.Exclusive {
		t.Errorf("info %+v", info)
	}

	other := open(t, dial(t, s))
	_, err = other.QueueDeclarePassive(q.Name, false, false, true, false, nil)
	if code(err) != ResourceLocked {
		t.Fatalf("other connection: %v, want 405", err)
	}

	// The queue goes with its connection; Close returns after the broker
	// let go of it.
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Queue(q.Name); ok {
		t.Error("exclusive queue survived its connection")
	}
}

func TestAutoDeleteQueue(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	if _, err := ch.QueueDeclare("ad", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("ad", "c1", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("ad", "c2", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Cancel("c1", false); err != nil {
		t.Fatal(err)
	}
	queueInfo(t, s, "ad") // one consumer left
	if err := ch.Cancel("c2", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Queue("ad"); ok {
		t.Error("auto-delete queue survived its last consumer")
	}
}

func TestExclusiveConsumer(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch := open(t, c)
	declare(t, ch, "q")
	if _, err := ch.Consume("q", "", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ch2 := open(t, c)
	if _, err := ch2.Consume("q", "", false, false, false, false, nil); code(err) != AccessRefused {
		t.Fatalf("second consumer: %v, want 403", err)
	}
}

func TestCancelConsumersNotifiesClient(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "q")
	cancels := ch.NotifyCancel(make(chan string, 1))
	ds, err := ch.Consume("q", "my-tag", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CancelConsumers("q"); n != 1 {
		t.Fatalf("cancelled %d", n)
	}
	if tag := testkit.Recv(t, cancels, wait, "basic.cancel"); tag != "my-tag" {
		t.Errorf("tag %q", tag)
	}
	for range ds { // the delivery channel closes
	}
	if info := queueInfo(t, s, "q"); info.Consumers != 0 {
		t.Errorf("info %+v", info)
	}
	// The channel stays usable.
	publish(t, ch, "", "q", "still here")
	if s.DeleteQueue("q") != true {
		t.Error("DeleteQueue")
	}
	ctx := context.Background()
	if err := ch.PublishWithContext(ctx, "", "q", false, false, amqp.Publishing{}); err != nil {
		t.Fatal(err)
	}
}
