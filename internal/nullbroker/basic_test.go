package nullbroker

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/testkit"
)

func TestPublishConsumeRoundTrip(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	pub, sub := open(t, c), open(t, c)
	declare(t, sub, "q")
	ds := consume(t, sub, "q", false)

	err := pub.PublishWithContext(context.Background(), "", "q", false, false, amqp.Publishing{
		ContentType:   "text/plain",
		DeliveryMode:  amqp.Persistent,
		CorrelationId: "corr-1",
		MessageId:     "m-1",
		Headers:       amqp.Table{"n": int32(7), "s": "x", "nested": amqp.Table{"b": true}},
		Body:          []byte("hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := testkit.Recv(t, ds, wait, "delivery")
	if string(d.Body) != "hello" || d.ContentType != "text/plain" || d.DeliveryMode != amqp.Persistent ||
		d.CorrelationId != "corr-1" || d.MessageId != "m-1" || d.RoutingKey != "q" || d.Exchange != "" || d.Redelivered {
		t.Errorf("delivery %+v", d)
	}
	if d.Headers["n"] != int32(7) || d.Headers["s"] != "x" || d.Headers["nested"].(amqp.Table)["b"] != true {
		t.Errorf("headers %v", d.Headers)
	}
	if info := queueInfo(t, s, "q"); info.Unacked != 1 || info.Consumers != 1 {
		t.Errorf("before ack %+v", info)
	}
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	// Wait for the ack to be processed: a synchronous round trip on the
	// same channel comes after it.
	if _, err := sub.QueueDeclarePassive("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if info := queueInfo(t, s, "q"); info.Unacked != 0 || info.Messages != 0 {
		t.Errorf("after ack %+v", info)
	}
	st := s.Stats()
	if st.Published != 1 || st.Delivered != 1 || st.Acked != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestConfirmsPipelined(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "q")
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	const n = 500
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	for i := range n {
		publish(t, ch, "", "q", fmt.Sprint(i))
	}
	for i := range n {
		cf := testkit.Recv(t, confirms, wait, "confirm")
		if !cf.Ack || cf.DeliveryTag != uint64(i+1) {
			t.Fatalf("confirm %d: %+v", i, cf)
		}
	}
	if info := queueInfo(t, s, "q"); info.Messages != n {
		t.Errorf("queue %+v", info)
	}
	if st := s.Stats(); st.Confirms != n {
		t.Errorf("stats %+v", st)
	}
}

func TestMandatoryReturnBeforeAck(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	err := ch.PublishWithContext(context.Background(), "amq.direct", "nobody", true, false, amqp.Publishing{Body: []byte("lost")})
	if err != nil {
		t.Fatal(err)
	}
	cf := testkit.Recv(t, confirms, wait, "confirm")
	if !cf.Ack || cf.DeliveryTag != 1 {
		t.Errorf("confirm %+v", cf)
	}
	// amqp091-go hands over a return before it reads the frame after it, so
	// a return sent before the ack is already waiting.
	select {
	case r := <-returns:
		if r.ReplyCode != NoRoute || r.ReplyText != "NO_ROUTE" || r.Exchange != "amq.direct" || r.RoutingKey != "nobody" || string(r.Body) != "lost" {
			t.Errorf("return %+v", r)
		}
	default:
		t.Fatal("ack arrived before basic.return")
	}
	if st := s.Stats(); st.Returned != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestPrefetch(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch := open(t, c)
	declare(t, ch, "q")
	if err := ch.Qos(3, 0, false); err != nil {
		t.Fatal(err)
	}
	ds := consume(t, ch, "q", false)
	pub := open(t, c)
	if err := pub.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := pub.NotifyPublish(make(chan amqp.Confirmation, 10))
	for i := range 10 {
		publish(t, pub, "", "q", fmt.Sprint(i))
	}
	for range 10 {
		testkit.Recv(t, confirms, wait, "confirm")
	}
	var got []amqp.Delivery
	for range 3 {
		got = append(got, testkit.Recv(t, ds, wait, "delivery"))
	}
	// Every publish was confirmed, and the broker confirms after routing
	// and delivering: a delivery beyond the prefetch would be counted now.
	if info, st := queueInfo(t, s, "q"), s.Stats(); info.Unacked != 3 || info.Messages != 7 || st.Delivered != 3 {
		t.Fatalf("queue %+v, %d delivered; want 3 delivered and unacked, 7 ready", info, st.Delivered)
	}
	testkit.Quiet(t, ds, "delivery beyond prefetch")
	// Acking two (multiple) makes room for two more, in order.
	if err := got[1].Ack(true); err != nil {
		t.Fatal(err)
	}
	for want := 3; want < 5; want++ {
		if d := testkit.Recv(t, ds, wait, "delivery"); string(d.Body) != fmt.Sprint(want) {
			t.Fatalf("got %q, want %d", d.Body, want)
		}
	}
	// The broker sent those two while handling the ack, under the lock
	// this read waits for: a fifth delivery would be counted by now.
	if info, st := queueInfo(t, s, "q"), s.Stats(); info.Unacked != 3 || info.Messages != 5 || st.Delivered != 5 ||
		st.Acked != 2 || st.AckFrames != 1 {
		t.Fatalf("queue %+v, %d delivered, %d acked in %d frames; want 5 delivered, 3 unacked, 5 ready, 2 acked in 1 frame",
			info, st.Delivered, st.Acked, st.AckFrames)
	}
	testkit.Quiet(t, ds, "delivery beyond prefetch")
}

func TestGlobalPrefetch(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "a")
	declare(t, ch, "b")
	if err := ch.Qos(2, 0, true); err != nil {
		t.Fatal(err)
	}
	da, db := consume(t, ch, "a", false), consume(t, ch, "b", false)
	for i := range 2 {
		publish(t, ch, "", "a", fmt.Sprint(i))
		publish(t, ch, "", "b", fmt.Sprint(i))
	}
	n := 0
	for n < 2 {
		select {
		case <-da:
		case <-db:
		}
		n++
	}
	// A synchronous method after the publishes returns once they were routed.
	if _, err := ch.QueueDeclarePassive("a", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	// The channel-wide limit of 2 holds across both consumers.
	if qa, qb := queueInfo(t, s, "a"), queueInfo(t, s, "b"); qa.Unacked+qb.Unacked != 2 || qa.Messages+qb.Messages != 2 {
		t.Fatalf("a %+v b %+v", qa, qb)
	}
}

func TestNackRequeueRedelivers(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "q")
	publish(t, ch, "", "q", "first")
	publish(t, ch, "", "q", "second")
	ds := consume(t, ch, "q", false)
	d1, d2 := testkit.Recv(t, ds, wait, "delivery 1"), testkit.Recv(t, ds, wait, "delivery 2")
	if d1.Redelivered || d2.Redelivered {
		t.Fatal("fresh delivery marked redelivered")
	}
	// Nack both with requeue: they come back in their original order.
	if err := d2.Nack(true, true); err != nil {
		t.Fatal(err)
	}
	r1, r2 := testkit.Recv(t, ds, wait, "redelivery 1"), testkit.Recv(t, ds, wait, "redelivery 2")
	if string(r1.Body) != "first" || string(r2.Body) != "second" || !r1.Redelivered || !r2.Redelivered {
		t.Fatalf("redelivered %q(%v) %q(%v)", r1.Body, r1.Redelivered, r2.Body, r2.Redelivered)
	}
	// Reject without requeue drops; reject with requeue redelivers.
	if err := r1.Reject(false); err != nil {
		t.Fatal(err)
	}
	if err := r2.Reject(true); err != nil {
		t.Fatal(err)
	}
	if d := testkit.Recv(t, ds, wait, "redelivery after reject"); string(d.Body) != "second" || !d.Redelivered {
		t.Fatalf("got %q", d.Body)
	} else if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclarePassive("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if info := queueInfo(t, s, "q"); info.Messages != 0 || info.Unacked != 0 {
		t.Errorf("queue %+v", info)
	}
	if st := s.Stats(); st.Nacked != 4 || st.Acked != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnknownDeliveryTag(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := ch.Ack(42, false); err != nil {
		t.Fatal(err)
	}
	err := testkit.Recv(t, closed, wait, "channel close")
	if err == nil || err.Code != PreconditionFailed || err.Reason != "PRECONDITION_FAILED - unknown delivery tag 42" {
		t.Fatalf("got %#v", err)
	}
}

func TestChannelCloseRequeues(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch := open(t, c)
	declare(t, ch, "q")
	publish(t, ch, "", "q", "m")
	ds := consume(t, ch, "q", false)
	testkit.Recv(t, ds, wait, "delivery")
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if info := queueInfo(t, s, "q"); info.Messages != 1 || info.Unacked != 0 {
		t.Fatalf("after channel close %+v", info)
	}

	// Same for a connection that goes away without a word.
	c2 := dial(t, s)
	ds = consume(t, open(t, c2), "q", false)
	if d := testkit.Recv(t, ds, wait, "redelivery"); !d.Redelivered {
		t.Error("not marked redelivered")
	}
	s.Kill()
	testkit.Await(t, wait, "requeue after Kill", s.Changed, func() bool {
		info, _ := s.Queue("q")
		return info.Messages == 1 && info.Unacked == 0
	})
}

func TestGet(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "q")
	if _, ok, err := ch.Get("q", false); ok || err != nil {
		t.Fatalf("get on empty: %v %v", ok, err)
	}
	publish(t, ch, "", "q", "a")
	publish(t, ch, "", "q", "b")
	d, ok, err := ch.Get("q", false)
	if !ok || err != nil || string(d.Body) != "a" || d.MessageCount != 1 {
		t.Fatalf("get: %v %v %+v", ok, err, d)
	}
	if err := d.Nack(false, true); err != nil {
		t.Fatal(err)
	}
	d, ok, err = ch.Get("q", true)
	if !ok || err != nil || string(d.Body) != "a" || !d.Redelivered {
		t.Fatalf("get after nack: %v %v %+v", ok, err, d)
	}
}

func TestRoundRobin(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch1, ch2 := open(t, c), open(t, c)
	declare(t, ch1, "q")
	d1, d2 := consume(t, ch1, "q", true), consume(t, ch2, "q", true)
	for i := range 4 {
		publish(t, ch1, "", "q", fmt.Sprint(i))
	}
	a1, a2 := testkit.Recv(t, d1, wait, "1st"), testkit.Recv(t, d1, wait, "3rd")
	b1, b2 := testkit.Recv(t, d2, wait, "2nd"), testkit.Recv(t, d2, wait, "4th")
	if string(a1.Body)+string(a2.Body) != "02" || string(b1.Body)+string(b2.Body) != "13" {
		t.Errorf("consumer 1 got %s%s, consumer 2 got %s%s", a1.Body, a2.Body, b1.Body, b2.Body)
	}
}

func TestDirectReplyTo(t *testing.T) {
	s := start(t, Config{})
	// The server side of an RPC.
	srvCh := open(t, dial(t, s))
	declare(t, srvCh, "rpc")
	requests := consume(t, srvCh, "rpc", true)

	client := open(t, dial(t, s))
	replies := consume(t, client, "amq.rabbitmq.reply-to", true)
	err := client.PublishWithContext(context.Background(), "", "rpc", false, false, amqp.Publishing{
		ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: "c1", Body: []byte("ping"),
	})
	if err != nil {
		t.Fatal(err)
	}
	req := testkit.Recv(t, requests, wait, "request")
	if !strings.HasPrefix(req.ReplyTo, "amq.rabbitmq.reply-to.") || req.CorrelationId != "c1" || string(req.Body) != "ping" {
		t.Fatalf("request %+v", req)
	}
	err = srvCh.PublishWithContext(context.Background(), "", req.ReplyTo, false, false, amqp.Publishing{
		CorrelationId: req.CorrelationId, Body: []byte("pong"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep := testkit.Recv(t, replies, wait, "reply"); string(rep.Body) != "pong" || rep.CorrelationId != "c1" {
		t.Fatalf("reply %+v", rep)
	}

	// Direct reply-to needs no-ack, and a consumer before publishing.
	other := open(t, dial(t, s))
	if _, err := other.Consume("amq.rabbitmq.reply-to", "", false, false, false, false, nil); code(err) != PreconditionFailed {
		t.Errorf("acking reply consumer: %v, want 406", err)
	}
	other = open(t, dial(t, s))
	closed := other.NotifyClose(make(chan *amqp.Error, 1))
	_ = other.PublishWithContext(context.Background(), "", "rpc", false, false, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to"})
	if err := testkit.Recv(t, closed, wait, "channel close"); err == nil || err.Code != PreconditionFailed {
		t.Errorf("publish without reply consumer: %v", err)
	}
}

func TestLargeBodySplitAcrossFrames(t *testing.T) {
	s := start(t, Config{FrameMax: 4096})
	c := dial(t, s)
	if c.Config.FrameSize != 4096 {
		t.Fatalf("negotiated frame size %d", c.Config.FrameSize)
	}
	ch := open(t, c)
	declare(t, ch, "q")
	body := make([]byte, 300_000)
	_, _ = rand.Read(body)
	ds := consume(t, ch, "q", true)
	if err := ch.PublishWithContext(context.Background(), "", "q", false, false, amqp.Publishing{Body: body}); err != nil {
		t.Fatal(err)
	}
	// An empty body has no body frame at all.
	publish(t, ch, "", "q", "")
	if d := testkit.Recv(t, ds, wait, "large delivery"); !bytes.Equal(d.Body, body) {
		t.Fatalf("body of %d bytes differs", len(d.Body))
	}
	if d := testkit.Recv(t, ds, wait, "empty delivery"); len(d.Body) != 0 {
		t.Fatalf("body %q", d.Body)
	}
}

func TestMaxMessageSize(t *testing.T) {
	s := start(t, Config{MaxMessageSize: 1000})
	c := dial(t, s)
	ch := open(t, c)
	declare(t, ch, "q")
	publish(t, ch, "", "q", strings.Repeat("x", 1000)) // at the limit: fine
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	publish(t, ch, "", "q", strings.Repeat("x", 1001))
	err := testkit.Recv(t, closed, wait, "channel close")
	if err == nil || err.Code != PreconditionFailed || !strings.Contains(err.Reason, "larger than configured max size 1000") {
		t.Fatalf("got %#v", err)
	}
	// Only that channel is closed.
	ch2 := open(t, c)
	if _, err := ch2.QueueDeclarePassive("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if info := queueInfo(t, s, "q"); info.Messages != 1 {
		t.Errorf("queue %+v", info)
	}
}

func TestUserIDMustMatch(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	_ = ch.PublishWithContext(context.Background(), "", "q", false, false, amqp.Publishing{UserId: "mallory"})
	if err := testkit.Recv(t, closed, wait, "channel close"); err == nil || err.Code != PreconditionFailed {
		t.Fatalf("got %v", err)
	}
}

func TestChannelFlow(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	declare(t, ch, "q")
	ds := consume(t, ch, "q", true)
	if err := ch.Flow(false); err != nil {
		t.Fatal(err)
	}
	publish(t, ch, "", "q", "held")
	// A synchronous method on the same channel is handled after the
	// publish: by its answer, the broker has routed and not delivered it.
	if q, err := ch.QueueDeclarePassive("q", false, false, false, false, nil); err != nil || q.Messages != 1 {
		t.Fatalf("queue.declare passive: %+v, %v; want the held message ready", q, err)
	}
	if st := s.Stats(); st.Delivered != 0 {
		t.Fatalf("%d delivered while flow is off", st.Delivered)
	}
	testkit.Quiet(t, ds, "delivery while flow is off")
	if err := ch.Flow(true); err != nil {
		t.Fatal(err)
	}
	if d := testkit.Recv(t, ds, wait, "delivery after flow on"); string(d.Body) != "held" {
		t.Fatalf("got %q", d.Body)
	}
}
