package nullbroker

import (
	"fmt"
	"slices"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/nullbroker/codec"
	"github.com/warrenmq/warren/internal/testkit"
)

func TestTopicMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.c", false},
		{"a.*", "a.", true}, // "*" matches the empty word
		{"*", "", false},    // the empty key has no words
		{"#", "", true},
		{"", "", true},
		{"", "a", false},
		{"#", "a.b.c", true},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"a.#", "b.a", false},
		{"#.c", "a.b.c", true},
		{"#.c", "c", true},
		{"a.#.c", "a.c", true},
		{"a.#.c", "a.b.b.c", true},
		{"a.#.c", "a.b.b.d", false},
		{"#.#", "a", true},
		{"*.#.*", "a", false},
		{"*.#.*", "a.b", true},
		{"#.b.#", "a.b.c", true},
		{"#.b.#", "b", true},
		{"#.*", "", false},
		{"a.b", "a.b.c", false},
		{"*.*.*", "a.b.c", true},
		{"*.*.*", "a.b.c.d", false},
	} {
		if got := topicMatch(splitTopic(tc.pattern), splitTopic(tc.key)); got != tc.want {
			t.Errorf("topicMatch(%q, %q) = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
	}
}

func TestHeadersMatch(t *testing.T) {
	h := codec.Table{"format": "pdf", "type": "report", "n": int32(3)}
	for _, tc := range []struct {
		args codec.Table
		want bool
	}{
		{codec.Table{"format": "pdf", "type": "report"}, true},
		{codec.Table{"x-match": "all", "format": "pdf", "type": "log"}, false},
		{codec.Table{"x-match": "any", "format": "pdf", "type": "log"}, true},
		{codec.Table{"x-match": "any", "format": "zip", "type": "log"}, false},
		{codec.Table{"n": int64(3)}, true}, // integer widths are normalised
		{codec.Table{"missing": nil}, false},
		{codec.Table{"format": nil}, true}, // void: presence only
		{codec.Table{}, true},
		{codec.Table{"x-match": "any"}, false},
		{codec.Table{"x-other": "ignored", "format": "pdf"}, true},
	} {
		if got := headersMatch(tc.args, h); got != tc.want {
			t.Errorf("headersMatch(%v) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestTopicRoundTrip(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch := open(t, c)
	if err := ch.ExchangeDeclare("events", "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	bind := map[string][]string{
		"orders":  {"order.*.created", "order.#.cancelled"},
		"all":     {"#"},
		"invoice": {"*.invoice"},
	}
	for q, keys := range bind {
		declare(t, ch, q)
		for _, k := range keys {
			if err := ch.QueueBind(q, k, "events", false, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys := []string{"order.eu.created", "order.eu.paid", "order.cancelled", "order.eu.fr.cancelled", "x.invoice", "invoice", ""}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, len(keys)))
	for _, k := range keys {
		publish(t, ch, "events", k, k)
	}
	for range keys {
		testkit.Recv(t, confirms, wait, "confirm")
	}
	want := map[string][]string{
		"orders":  {"order.eu.created", "order.cancelled", "order.eu.fr.cancelled"},
		"all":     keys,
		"invoice": {"x.invoice"},
	}
	for q, bodies := range want {
		var got []string
		for {
			d, ok, err := ch.Get(q, true)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if d.Exchange != "events" || d.RoutingKey != string(d.Body) {
				t.Errorf("delivery %+v", d)
			}
			got = append(got, string(d.Body))
		}
		if !slices.Equal(got, bodies) {
			t.Errorf("queue %s got %q, want %q", q, got, bodies)
		}
	}
	// Unbinding stops the routing.
	if err := ch.QueueUnbind("all", "#", "events", nil); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "events", "order.x.created", "late")
	testkit.Recv(t, confirms, wait, "confirm")
	if info := queueInfo(t, s, "all"); info.Messages != 0 {
		t.Errorf("unbound queue got a message")
	}
}

func TestFanoutHeadersAndExchangeBindings(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "f1")
	declare(t, ch, "f2")
	declare(t, ch, "h")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ch.ExchangeDeclare("fan", "fanout", false, false, false, false, nil))
	must(ch.ExchangeDeclare("hdr", "headers", false, false, false, false, nil))
	must(ch.QueueBind("f1", "ignored", "fan", false, nil))
	must(ch.QueueBind("f2", "", "fan", false, nil))
	must(ch.QueueBind("h", "", "hdr", false, amqp.Table{"x-match": "all", "kind": "a"}))
	// amq.direct -> fan (exchange-to-exchange), and a cycle back, which must not loop.
	must(ch.ExchangeBind("fan", "to-fan", "amq.direct", false, nil))
	must(ch.ExchangeBind("amq.direct", "", "fan", false, nil))
	must(ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 8))

	publish(t, ch, "fan", "any", "1")
	publish(t, ch, "amq.direct", "to-fan", "2")
	for _, kind := range []string{"a", "b"} {
		err := ch.PublishWithContext(t.Context(), "hdr", "", false, false, amqp.Publishing{Headers: amqp.Table{"kind": kind}, Body: []byte(kind)})
		must(err)
	}
	for range 4 {
		testkit.Recv(t, confirms, wait, "confirm")
	}
	counts := map[string]int{}
	for _, q := range s.Queues() {
		counts[q.Name] = q.Messages
	}
	if fmt.Sprint(counts) != "map[f1:2 f2:2 h:1]" {
		t.Errorf("counts %v", counts)
	}
	found := false
	for _, b := range s.Bindings() {
		if b.Source == "amq.direct" && b.Destination == "fan" && b.DestinationKind == "exchange" && b.RoutingKey == "to-fan" {
			found = true
		}
	}
	if !found {
		t.Errorf("exchange binding missing from %+v", s.Bindings())
	}
	must(ch.ExchangeUnbind("fan", "to-fan", "amq.direct", false, nil))
	must(ch.ExchangeDelete("fan", false, false))
	for _, b := range s.Bindings() {
		if b.Source == "fan" || b.Destination == "fan" {
			t.Errorf("binding %+v survived its exchange", b)
		}
	}
}

func TestAutoDeleteExchange(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "q")
	if err := ch.ExchangeDeclare("ad", "direct", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("q", "k", "ad", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueUnbind("q", "k", "ad", nil); err != nil {
		t.Fatal(err)
	}
	for _, x := range s.Exchanges() {
		if x.Name == "ad" {
			t.Fatal("auto-delete exchange survived its last binding")
		}
	}
}
