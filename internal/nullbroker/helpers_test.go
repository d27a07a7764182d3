package nullbroker

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// wait bounds every wait on a notification in these tests.
const wait = 5 * time.Second

// start starts a Server that is closed when the test ends.
func start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Thaw()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// dial connects amqp091-go to s; the connection is closed when the test ends.
func dial(t testing.TB, s *Server) *amqp.Connection {
	t.Helper()
	return dialConfig(t, s, amqp.Config{})
}

func dialConfig(t testing.TB, s *Server, cfg amqp.Config) *amqp.Connection {
	t.Helper()
	c, err := amqp.DialConfig(s.URL(), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// open opens a channel.
func open(t testing.TB, c *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return ch
}

// code returns the reply code of an *amqp.Error, or 0.
func code(err error) int {
	var e *amqp.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// publish publishes body to exchange with key and fails the test on error.
func publish(t testing.TB, ch *amqp.Channel, exchange, key string, body string) {
	t.Helper()
	err := ch.PublishWithContext(context.Background(), exchange, key, false, false, amqp.Publishing{Body: []byte(body)})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// declare declares a plain queue.
func declare(t testing.TB, ch *amqp.Channel, name string) amqp.Queue {
	t.Helper()
	q, err := ch.QueueDeclare(name, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue.declare %q: %v", name, err)
	}
	return q
}

// consume starts a consumer.
func consume(t testing.TB, ch *amqp.Channel, queue string, autoAck bool) <-chan amqp.Delivery {
	t.Helper()
	ds, err := ch.Consume(queue, "", autoAck, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume %q: %v", queue, err)
	}
	return ds
}

// queueInfo returns the broker's view of a queue, failing if it is missing.
func queueInfo(t testing.TB, s *Server, name string) QueueInfo {
	t.Helper()
	q, ok := s.Queue(name)
	if !ok {
		t.Fatalf("queue %q does not exist", name)
	}
	return q
}
