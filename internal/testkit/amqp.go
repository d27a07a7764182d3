package testkit

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// AMQPChannel dials uri with plain amqp091-go and opens a channel, for a
// test's own publishing, consuming and checks; the connection is closed
// when the test ends.
func AMQPChannel(t testing.TB, uri string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(uri)
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("raw channel: %v", err)
	}
	return ch
}
