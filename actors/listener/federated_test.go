package listener

import (
	"testing"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

func TestHintedZone(t *testing.T) {
	conns := []registry.Connection{
		{ID: "10.0.0.1:5672", Broker: "10.0.0.1:5672", Zone: "local"},
		{ID: "10.0.0.1:5672~publish", Broker: "10.0.0.1:5672", Zone: "local"},
		{ID: "10.0.0.5:5672@kz", Broker: "10.0.0.5:5672@kz", Zone: "east"},
		{ID: "10.0.0.6:5672", Broker: "10.0.0.6:5672", Zone: "west"},
	}
	addr := func(env kazoo.Envelope) kazoo.ReplyAddress {
		t.Helper()
		env["Server-ID"] = firstNonEmpty(env["Server-ID"], "q")
		a, ok := env.ReplyAddress()
		if !ok {
			t.Fatalf("no reply address in %v", env)
		}
		return a
	}
	tests := []struct {
		name  string
		given kazoo.Envelope
		want  string
	}{
		{"a plain request has no hint", kazoo.Envelope{}, ""},
		{"a consumer:// hint naming a broker id", kazoo.Envelope{"Server-ID": "consumer://10.0.0.5:5672@kz/q"}, "east"},
		{"a federator's AMQP-Broker", kazoo.Envelope{"AMQP-Broker": "10.0.0.6:5672", "AMQP-Broker-Zone": "west"}, "west"},
		{"Kazoo's AMQP-Broker, a URI with credentials", kazoo.Envelope{"AMQP-Broker": "amqp://kazoo:s3cret@10.0.0.5:5672/kz"}, "east"},
		{"the consumer:// hint wins over AMQP-Broker", kazoo.Envelope{"Server-ID": "consumer://10.0.0.6:5672/q", "AMQP-Broker": "10.0.0.5:5672@kz"}, "west"},
		{"a Kazoo pid hint falls back to AMQP-Broker-Zone", kazoo.Envelope{"Server-ID": "consumer://<0.12.0>/q", "AMQP-Broker-Zone": "west"}, "west"},
		{"Kamailio's connection number and zone", kazoo.Envelope{"Server-ID": "consumer://2/q", "AMQP-Broker-Zone": "local"}, "local"},
		{"a zone the tree does not know", kazoo.Envelope{"Server-ID": "consumer://2/q", "AMQP-Broker-Zone": "mars"}, ""},
		{"a zone alone redirects no plain Server-ID", kazoo.Envelope{"AMQP-Broker-Zone": "west"}, ""},
		{"a broker the tree does not know", kazoo.Envelope{"AMQP-Broker": "amqp://u:p@10.9.9.9:5672"}, ""},
		{"an unparsable AMQP-Broker", kazoo.Envelope{"AMQP-Broker": "amqp://u:p@[::1"}, ""},
		{"a pid:// address has no broker hint", kazoo.Envelope{"Server-ID": "pid://10.0.0.5:5672@kz/q"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hintedZone(func() []registry.Connection { return conns }, addr(tt.given)); got != tt.want {
				t.Fatalf("hintedZone = %q, want %q", got, tt.want)
			}
		})
	}
}

func firstNonEmpty(v any, def string) any {
	if s, _ := v.(string); s != "" {
		return s
	}
	return def
}
