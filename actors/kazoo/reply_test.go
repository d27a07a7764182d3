package kazoo

import (
	"errors"
	"strings"
	"testing"
)

func TestEnvelope_ReplyTo(t *testing.T) {
	tests := []struct {
		name   string
		given  Envelope
		wantRK string
		wantOK bool
	}{
		{name: "kamailio query", given: Envelope{"Server-ID": "kamailio@sbc1-<1>-targeted-3"}, wantRK: "kamailio@sbc1-<1>-targeted-3", wantOK: true},
		{name: "kazoo worker queue", given: Envelope{"Server-ID": "ecallmgr@fs1-kz_amqp_worker-<0.1234.0>-9f2c"}, wantRK: "ecallmgr@fs1-kz_amqp_worker-<0.1234.0>-9f2c", wantOK: true},
		{name: "kamailio-rewritten server id", given: Envelope{"Server-ID": "consumer://2/kamailio@sbc1-<2>-targeted-0"}, wantRK: "kamailio@sbc1-<2>-targeted-0", wantOK: true},
		{name: "rewritten id keeps later slashes", given: Envelope{"Server-ID": "consumer://1/a/b"}, wantRK: "a/b", wantOK: true},
		{name: "rewritten id with nothing after the broker", given: Envelope{"Server-ID": "consumer://1/"}},
		{name: "no server id", given: Envelope{}},
		{name: "empty server id", given: Envelope{"Server-ID": ""}},
		{name: "non-string server id", given: Envelope{"Server-ID": 7}},
		{name: "kazoo pid address", given: Envelope{"Server-ID": "pid://<0.4711.0>/targeted-q"}, wantRK: "targeted-q", wantOK: true},
		{name: "pid address with nothing after the pid", given: Envelope{"Server-ID": "pid://<0.4711.0>/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, rk, ok := tt.given.ReplyTo()
			if ok != tt.wantOK || rk != tt.wantRK {
				t.Fatalf("ReplyTo() = %q, %q, %v; want %q, %v", x, rk, ok, tt.wantRK, tt.wantOK)
			}
			if ok && x != ExchangeTargeted {
				t.Errorf("exchange = %q, want %q", x, ExchangeTargeted)
			}
		})
	}
}

func TestSplitConsumerServerID(t *testing.T) {
	tests := []struct {
		name       string
		given      string
		wantBroker string
		wantRK     string
		wantOK     bool
	}{
		{name: "kamailio form", given: "consumer://3/kamailio@h-<3>-targeted-1", wantBroker: "3", wantRK: "kamailio@h-<3>-targeted-1", wantOK: true},
		{name: "plain server id", given: "kamailio@h-<1>-targeted-1"},
		{name: "no slash after broker", given: "consumer://3"},
		{name: "no broker", given: "consumer:///x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, rk, ok := SplitConsumerServerID(tt.given)
			if b != tt.wantBroker || rk != tt.wantRK || ok != tt.wantOK {
				t.Errorf("SplitConsumerServerID(%q) = %q, %q, %v; want %q, %q, %v", tt.given, b, rk, ok, tt.wantBroker, tt.wantRK, tt.wantOK)
			}
		})
	}
}

func TestEnvelope_ReplyAddress_KeepsTheHint(t *testing.T) {
	tests := []struct {
		name  string
		given Envelope
		want  ReplyAddress
	}{
		{name: "plain server id has no hint", given: Envelope{"Server-ID": "kamailio@h-<1>-targeted-0"},
			want: ReplyAddress{Exchange: ExchangeTargeted, RoutingKey: "kamailio@h-<1>-targeted-0"}},
		{name: "warren federator's address names its broker",
			given: Envelope{"Server-ID": "consumer://10.0.0.5:5672/q1", "AMQP-Broker": "10.0.0.5:5672", "AMQP-Broker-Zone": "east"},
			want:  ReplyAddress{Exchange: ExchangeTargeted, RoutingKey: "q1", Scheme: SchemeConsumer, Hint: "10.0.0.5:5672", Broker: "10.0.0.5:5672", Zone: "east"}},
		{name: "kazoo federator's broker URI loses its password",
			given: Envelope{"Server-ID": "consumer://<0.99.0>/q2", "AMQP-Broker": "amqp://kazoo:s3cret@10.0.0.6:5672", "AMQP-Broker-Zone": "west"},
			want:  ReplyAddress{Exchange: ExchangeTargeted, RoutingKey: "q2", Scheme: SchemeConsumer, Hint: "<0.99.0>", Broker: "amqp://kazoo:xxxxx@10.0.0.6:5672", Zone: "west"}},
		{name: "kamailio's rewrite with its zone",
			given: Envelope{"Server-ID": "consumer://2/kamailio@h-<2>-targeted-1", "AMQP-Broker-Zone": "local", "AMQP-Received": 1700000000},
			want:  ReplyAddress{Exchange: ExchangeTargeted, RoutingKey: "kamailio@h-<2>-targeted-1", Scheme: SchemeConsumer, Hint: "2", Zone: "local"}},
		{name: "pid address splits at the last slash",
			given: Envelope{"Server-ID": "pid://<0.1.0>/a/b"},
			want:  ReplyAddress{Exchange: ExchangeTargeted, RoutingKey: "b", Scheme: SchemePID, Hint: "<0.1.0>/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.given.ReplyAddress()
			if !ok || got != tt.want {
				t.Fatalf("ReplyAddress() = %+v, %v; want %+v", got, ok, tt.want)
			}
			if strings.Contains(got.Broker, "s3cret") {
				t.Fatalf("Broker shows the password: %q", got.Broker)
			}
		})
	}
}

func TestReplyAddress_DeliverToPID(t *testing.T) {
	pid, _ := Envelope{"Server-ID": "pid://<0.7.0>/q"}.ReplyAddress()
	cons, _ := Envelope{"Server-ID": "consumer://<0.7.0>/q"}.ReplyAddress()
	if got := pid.DeliverToPID(); got != "<0.7.0>" {
		t.Errorf("pid:// DeliverToPID = %q, want <0.7.0>", got)
	}
	if got := cons.DeliverToPID(); got != "" {
		t.Errorf("consumer:// DeliverToPID = %q, want none", got)
	}
}

func TestParseServerID(t *testing.T) {
	tests := []struct {
		given, scheme, hint, key string
	}{
		{"q", "", "", "q"},
		{"consumer://b1:5672/q", SchemeConsumer, "b1:5672", "q"},
		{"consumer:///q", "", "", "consumer:///q"},
		{"pid://<0.1.0>/q", SchemePID, "<0.1.0>", "q"},
		{"pid:///q", "", "", "pid:///q"},
		{"pid://<0.1.0>", "", "", "pid://<0.1.0>"},
		{ConsumerServerID("h:1@v", "k.x"), SchemeConsumer, "h:1@v", "k.x"},
	}
	for _, tt := range tests {
		s, h, k := ParseServerID(tt.given)
		if s != tt.scheme || h != tt.hint || k != tt.key {
			t.Errorf("ParseServerID(%q) = %q, %q, %q; want %q, %q, %q", tt.given, s, h, k, tt.scheme, tt.hint, tt.key)
		}
	}
}

func TestNewReply(t *testing.T) {
	tests := []struct {
		name      string
		req       Envelope
		fields    map[string]any
		wantMsgID string
		wantErr   error
	}{
		{name: "echoes the request's Msg-ID", req: Envelope{"Msg-ID": "req-1"},
			fields: map[string]any{"Event-Category": "directory", "Event-Name": "authn_resp", "Msg-ID": "ignored"}, wantMsgID: "req-1"},
		{name: "Msg-Reply-ID wins, as kz_amqp_worker expects", req: Envelope{"Msg-ID": "req-1", "Msg-Reply-ID": "orig-9"},
			fields: map[string]any{"Event-Category": "c", "Event-Name": "n"}, wantMsgID: "orig-9"},
		{name: "an empty Msg-Reply-ID is ignored", req: Envelope{"Msg-ID": "req-1", "Msg-Reply-ID": ""},
			fields: map[string]any{"Event-Category": "c", "Event-Name": "n"}, wantMsgID: "req-1"},
		{name: "a request without Msg-ID cannot be answered", req: Envelope{},
			fields: map[string]any{"Event-Category": "c", "Event-Name": "n"}, wantErr: ErrMissingHeader},
		{name: "the reply must say what it is", req: Envelope{"Msg-ID": "req-1"},
			fields: map[string]any{}, wantErr: ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewReply(tt.req, tt.fields, testDefaults)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewReply error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewReply: %v", err)
			}
			if got.MsgID() != tt.wantMsgID {
				t.Errorf("Msg-ID = %q, want %q", got.MsgID(), tt.wantMsgID)
			}
			if got["App-Name"] != testDefaults.AppName {
				t.Errorf("defaults not applied: %v", got)
			}
			if _, changed := tt.fields["App-Name"]; changed {
				t.Error("NewReply modified fields")
			}
		})
	}
}
