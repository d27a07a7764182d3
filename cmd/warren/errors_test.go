package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

var failedAt = time.Date(2026, 12, 6, 22, 40, 1, 0, time.UTC)

// deadLetter is a delivery as a listener's error queue holds it: the
// contract's headers plus the message's own.
func deadLetter(tag uint64, id, body string) amqp.Delivery {
	return amqp.Delivery{
		DeliveryTag: tag, MessageId: id, ContentType: "application/json", DeliveryMode: amqp.Persistent,
		Exchange: "", RoutingKey: "orders_error", Body: []byte(body), Timestamp: failedAt.Add(-time.Minute),
		Headers: amqp.Table{
			hdrError: "handler: no stock\nfor item 7", hdrListener: "orders", hdrQueue: "orders", hdrAttempts: int32(3),
			hdrOriginalExchange: "amq.direct", hdrOriginalKey: "orders", hdrFailedAt: failedAt, hdrBroker: "127.0.0.1:5672",
			"x-app": "shop",
		},
	}
}

func TestErrors_UsageErrors(t *testing.T) {
	clearWarrenEnv(t)
	url := "amqp://guest:guest@127.0.0.1:1/"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no queue is named", args: []string{"errors", "--url", url}, want: "warren errors takes one QUEUE argument, got 0"},
		{name: "two queues are refused", args: []string{"errors", "--url", url, "a_error", "b_error"}, want: "takes one QUEUE argument, got 2"},
		{name: "an empty queue name is refused", args: []string{"errors", "--url", url, ""}, want: "QUEUE is empty"},
		{name: "a zero --count is refused", args: []string{"errors", "--url", url, "--count", "0", "q_error"}, want: "--count 0: must be at least 1"},
		{name: "a negative --count is refused", args: []string{"errors", "--url", url, "--count", "-5", "q_error"}, want: "--count -5: must be at least 1"},
		{name: "a zero --timeout is refused", args: []string{"errors", "--url", url, "--timeout", "0s", "q_error"}, want: "--timeout 0s: must be positive"},
		{name: "a bad --count value is named", args: []string{"errors", "--url", url, "--count", "many", "q_error"}, want: `invalid argument "many" for "--count"`},
		{name: "no broker is a usage error", args: []string{"errors", "q_error"}, want: "no broker to connect to"},
		{name: "a zero --wait is refused", args: []string{"errors", "--url", url, "--wait", "0s", "q_error"}, want: "--wait 0s: need a positive duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := warren(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %s", stdout)
			}
		})
	}
}

func TestErrors_NoBrokerFailsWithoutThePassword(t *testing.T) {
	clearWarrenEnv(t)
	code, stdout, stderr := warren(t, "errors", "--url", "amqp://kazoo:s3cret@127.0.0.1:1/", "--wait", "200ms", "q_error")
	if code != exitError {
		t.Fatalf("exit code = %d, want %d\n%s", code, exitError, stderr)
	}
	if stdout != "" || !strings.Contains(stderr, "connection refused") {
		t.Errorf("stdout %q, stderr %q: want the broker's error", stdout, stderr)
	}
	mustNotContain(t, "stderr", stderr, "s3cret")
}

func TestErrors_RenderListAsATable(t *testing.T) {
	bare := amqp.Delivery{DeliveryTag: 2, Body: []byte{0xff, 0x00, 'x'}} // no header at all, not text
	def := deadLetter(3, "m-3", "{}")
	def.Headers[hdrOriginalExchange] = "" // the default exchange
	def.Headers[hdrError] = strings.Repeat("e", 100)
	var b strings.Builder
	if err := renderErrorList(&b, []amqp.Delivery{deadLetter(1, "m-1", `{"order":7}`), bare, def}, false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"#  FAILED_AT             LISTENER  EXCHANGE    ROUTING_KEY  ATTEMPTS  MESSAGE_ID  ERROR                                                         BODY\n" +
		"1  2026-12-06T22:40:01Z  orders    amq.direct  orders       3         m-1         handler: no stock for item 7                                  {\"order\":7}\n" +
		"2  -                     -         -           -            -         -           -                                                             \"\\xff\\x00x\"\n" +
		"3  2026-12-06T22:40:01Z  orders    (default)   orders       3         m-3         " + strings.Repeat("e", 59) + "…  {}\n"
	if b.String() != want {
		t.Fatalf("table differs.\ngot:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestErrors_RenderListAsJSONHasEveryField(t *testing.T) {
	text := deadLetter(2, "m-2", "not json")
	text.Headers["x-raw"] = []byte{1, 2}
	text.Headers["x-nested"] = amqp.Table{"at": failedAt}
	var b strings.Builder
	if err := renderErrorList(&b, []amqp.Delivery{deadLetter(1, "m-1", `{"order":7}`), text, {DeliveryTag: 3}}, true); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, b.String())
	}
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	first := got[0]
	for k, want := range map[string]any{
		"position": 1.0, "failed_at": "2026-12-06T22:40:01Z", "listener": "orders", "queue": "orders",
		"broker": "127.0.0.1:5672", "original_exchange": "amq.direct", "original_routing_key": "orders",
		"attempts": 3.0, "error": "handler: no stock\nfor item 7", "message_id": "m-1", "content_type": "application/json",
		"delivery_mode": 2.0, "timestamp": "2026-12-06T22:39:01Z", "routing_key": "orders_error", "body_bytes": 11.0,
	} {
		if first[k] != want {
			t.Errorf("entry 1: %s = %#v, want %#v", k, first[k], want)
		}
	}
	if body, ok := first["body"].(map[string]any); !ok || body["order"] != 7.0 {
		t.Errorf("entry 1: body = %#v, want the JSON object", first["body"])
	}
	if h, ok := first["headers"].(map[string]any); !ok || h["x-app"] != "shop" || h[hdrAttempts] != 3.0 {
		t.Errorf("entry 1: headers = %#v", first["headers"])
	}
	second := got[1]
	if second["body"] != nil || second["body_base64"] != base64.StdEncoding.EncodeToString([]byte("not json")) {
		t.Errorf("entry 2: body %#v, body_base64 %#v: want base64 only", second["body"], second["body_base64"])
	}
	h := second["headers"].(map[string]any)
	if h["x-raw"] != "AQI=" || h["x-nested"].(map[string]any)["at"] != "2026-12-06T22:40:01Z" {
		t.Errorf("entry 2: headers = %#v", h)
	}
	third := got[2]
	if third["original_exchange"] != nil || third["body"] != nil || third["body_base64"] != nil {
		t.Errorf("entry 3 (bare): %#v", third)
	}
	if _, ok := third["original_exchange"]; !ok {
		t.Error("entry 3: original_exchange is missing, want null")
	}
}

func TestErrors_RenderEmptyListAsJSONIsAnArray(t *testing.T) {
	var b strings.Builder
	if err := renderErrorList(&b, nil, true); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Fatalf("got %q, want []", b.String())
	}
}

func TestErrors_RenderRequeue(t *testing.T) {
	results := []requeueResult{
		{Position: 1, MessageID: "m-1", Exchange: "amq.direct", RoutingKey: "orders", Requeued: true},
		{Position: 2, Reason: "no x-warren-original-exchange header"},
		{Position: 3, MessageID: "m-3", Exchange: "", RoutingKey: "orders", Requeued: true, Reason: `user-id "bob" dropped: the broker takes only the publishing user's`},
	}
	var b strings.Builder
	if err := renderRequeue(&b, "orders_error", results, false); err != nil {
		t.Fatal(err)
	}
	want := "requeued #1 (id m-1) to exchange amq.direct with key \"orders\"\n" +
		"left     #2 in orders_error: no x-warren-original-exchange header\n" +
		"requeued #3 (id m-3) to exchange (default) with key \"orders\"; user-id \"bob\" dropped: the broker takes only the publishing user's\n" +
		"requeued 2 of 3 messages from orders_error; 1 left in it\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := renderRequeue(&b, "orders_error", results[:1], true); err != nil {
		t.Fatal(err)
	}
	var got []requeueResult
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil || len(got) != 1 || got[0] != results[0] {
		t.Fatalf("JSON %s: %v", b.String(), err)
	}
}

func TestErrors_RequeuePublishingKeepsPropertiesAndOnlyTheRequeuedHeader(t *testing.T) {
	d := deadLetter(1, "m-1", `{"order":7}`)
	d.Headers[hdrRequeued] = int32(1)
	d.Headers["x-warren-resent"] = int32(2)
	d.CorrelationId, d.ReplyTo, d.Type, d.AppId, d.Priority, d.Expiration = "c-1", "replies", "order", "shop", 4, "60000"
	d.UserId = "guest"
	p, dropped := requeuePublishing(d, "guest")
	if dropped != "" {
		t.Errorf("dropped %q, want the matching user-id kept", dropped)
	}
	want := amqp.Table{"x-app": "shop", hdrRequeued: int32(2)}
	if len(p.Headers) != len(want) || p.Headers["x-app"] != "shop" || p.Headers[hdrRequeued] != int32(2) {
		t.Errorf("headers = %#v, want %#v", p.Headers, want)
	}
	if p.MessageId != "m-1" || p.CorrelationId != "c-1" || p.ReplyTo != "replies" || p.Type != "order" || p.AppId != "shop" ||
		p.Priority != 4 || p.Expiration != "60000" || p.DeliveryMode != amqp.Persistent || p.ContentType != "application/json" ||
		!p.Timestamp.Equal(d.Timestamp) || p.UserId != "guest" || string(p.Body) != `{"order":7}` {
		t.Errorf("properties not kept: %+v", p)
	}
	if _, ok := d.Headers[hdrError]; !ok {
		t.Error("the delivery's own headers were changed")
	}

	d.UserId = "bob"
	p, dropped = requeuePublishing(d, "guest")
	if dropped != "bob" || p.UserId != "" {
		t.Errorf("user-id %q, dropped %q: want bob's dropped for guest's connection", p.UserId, dropped)
	}
	fresh := deadLetter(1, "m-1", "{}")
	if p, _ := requeuePublishing(fresh, "guest"); p.Headers[hdrRequeued] != int32(1) {
		t.Errorf("first requeue: %s = %#v, want int32(1)", hdrRequeued, p.Headers[hdrRequeued])
	}
}
