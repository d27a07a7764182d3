package nullbroker

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/nullbroker/codec"
	"github.com/warrenmq/warren/internal/testkit"
)

func TestHandshake(t *testing.T) {
	s := start(t, Config{Product: "testbroker"})
	c := dial(t, s)
	if got := c.Properties["product"]; got != "testbroker" {
		t.Errorf("product = %v", got)
	}
	caps, _ := c.Properties["capabilities"].(amqp.Table)
	for _, cap := range []string{"publisher_confirms", "consumer_cancel_notify", "basic.nack", "connection.blocked",
		"exchange_exchange_bindings", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		if caps[cap] != true {
			t.Errorf("capability %s not advertised", cap)
		}
	}
	if c.Major != 0 || c.Minor != 9 {
		t.Errorf("version %d.%d", c.Major, c.Minor)
	}
	if st := s.Stats(); st.Connections != 1 || st.ConnectionsTotal != 1 {
		t.Errorf("stats %+v", st)
	}
	ch := open(t, c)
	if st := s.Stats(); st.Channels != 1 {
		t.Errorf("channels = %d", st.Channels)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Channels != 0 {
		t.Errorf("channels after close = %d", st.Channels)
	}
	// The broker releases a connection before it answers close-ok.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Connections != 0 {
		t.Errorf("connections after close = %d", st.Connections)
	}
}

func TestURLWithCredentialsAndVHost(t *testing.T) {
	s := start(t, Config{User: "u s", Password: "p@ss", VHost: "prod"})
	if !strings.HasSuffix(s.URL(), "/prod") {
		t.Errorf("URL %s", s.URL())
	}
	dial(t, s)
}

func TestWrongPasswordRefused(t *testing.T) {
	s := start(t, Config{})
	_, err := amqp.Dial(strings.Replace(s.URL(), "guest@", "wrong@", 1))
	if code(err) != AccessRefused {
		t.Fatalf("err = %v, want 403", err)
	}
	if !strings.Contains(err.Error(), "403") && !strings.Contains(err.Error(), "username or password") {
		t.Errorf("err = %v", err)
	}
}

// A client advertising authentication_failure_close is told why, with
// connection.close 403, like RabbitMQ does.
func TestAuthenticationFailureClose(t *testing.T) {
	s := start(t, Config{})
	r := rawConnect(t, s)
	r.login(rawOptions{caps: codec.Table{"authentication_failure_close": true}, user: "guest", pass: "nope"})
	code, text := r.expectClose()
	if code != AccessRefused || !strings.HasPrefix(text, "ACCESS_REFUSED - Login was refused") {
		t.Fatalf("close %d %q", code, text)
	}
	r.sendMethod(0, connectionCloseOk, nil)
	if _, err := r.fr.read(); !errors.Is(err, io.EOF) {
		t.Errorf("after close-ok: %v, want EOF", err)
	}
}

func TestVHostRefused(t *testing.T) {
	s := start(t, Config{})
	_, err := amqp.Dial(s.URL() + "other")
	if code(err) != NotAllowed {
		t.Fatalf("err = %v, want 530", err)
	}
}

func TestKillClosesClientConnections(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	s.Kill()
	if err := testkit.Recv(t, closed, wait, "NotifyClose"); err == nil {
		t.Error("NotifyClose gave nil, want an error for an abrupt close")
	}
	testkit.Await(t, wait, "connection released", s.Changed, func() bool { return s.Stats().Connections == 0 })
	// The server still listens.
	c2 := dial(t, s)
	open(t, c2)
}

func TestCloseConnectionsForced(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	s.CloseConnections(ConnectionForced, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
	err := testkit.Recv(t, closed, wait, "NotifyClose")
	if err == nil || err.Code != ConnectionForced || !err.Server || !strings.Contains(err.Reason, "shutdown") {
		t.Fatalf("got %#v, want a server 320", err)
	}
	testkit.Await(t, wait, "connection released", s.Changed, func() bool { return s.Stats().Connections == 0 })
}

func TestBlockUnblock(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	blocks := c.NotifyBlocked(make(chan amqp.Blocking, 4))
	ch := open(t, c)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 4))

	s.Block("low on memory")
	if b := testkit.Recv(t, blocks, wait, "blocked"); !b.Active || b.Reason != "low on memory" {
		t.Fatalf("got %+v", b)
	}
	// A connection opened while blocked is told right after open-ok.
	r := rawDial(t, s, rawOptions{caps: codec.Table{"connection.blocked": true}})
	if _, m, d := r.readMethod(); m != connectionBlocked || d.ShortStr() != "low on memory" {
		t.Fatalf("got %v, want connection.blocked", m)
	}
	// Like RabbitMQ, a publisher stops being read after a publish.
	publish(t, ch, "", "nowhere", "one")
	testkit.Recv(t, confirms, wait, "confirm of the publish that triggered the block")
	// Once the broker counts the connection paused it reads nothing from
	// it until Unblock: the second publish stays unread and unconfirmed.
	testkit.Await(t, wait, "the publishing connection paused", s.Changed, func() bool { return s.Stats().Paused == 1 })
	publish(t, ch, "", "nowhere", "two")
	if st := s.Stats(); st.Published != 1 || st.Confirms != 1 {
		t.Fatalf("while blocked: %d published, %d confirmed; want the paused connection's second publish unread", st.Published, st.Confirms)
	}
	testkit.Quiet(t, confirms, "confirm while blocked")

	s.Unblock()
	if b := testkit.Recv(t, blocks, wait, "unblocked"); b.Active {
		t.Fatalf("got %+v", b)
	}
	if cf := testkit.Recv(t, confirms, wait, "confirm after unblock"); cf.DeliveryTag != 2 || !cf.Ack {
		t.Fatalf("got %+v", cf)
	}
}

func TestFreezeDetectedByClientHeartbeat(t *testing.T) {
	s := start(t, Config{})
	c := dialConfig(t, s, amqp.Config{Heartbeat: time.Second})
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	ch := open(t, c)
	declare(t, ch, "q")

	s.Freeze()
	select {
	case err := <-closed:
		if err == nil {
			t.Fatal("NotifyClose gave nil")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client did not detect the frozen broker")
	}
	s.Thaw()
	// A new connection works after Thaw.
	open(t, dial(t, s))
}

// The broker drops a client that negotiated heartbeats and then went
// silent for two intervals, and sends its own heartbeats meanwhile.
func TestServerDropsSilentClient(t *testing.T) {
	s := start(t, Config{Heartbeat: 1})
	r := rawDial(t, s, rawOptions{heartbeat: 1})
	heartbeats := 0
	for {
		f, err := r.fr.read()
		if err != nil {
			if heartbeats == 0 {
				t.Errorf("no heartbeat from the broker before it dropped the client")
			}
			return // dropped, as expected
		}
		if f.typ == frameHeartbeat {
			heartbeats++
		}
	}
}

func TestChannelMax(t *testing.T) {
	s := start(t, Config{ChannelMax: 3})
	c := dial(t, s)
	if c.Config.ChannelMax != 3 {
		t.Errorf("negotiated channel_max %d", c.Config.ChannelMax)
	}
	for range 3 {
		open(t, c)
	}
	if _, err := c.Channel(); !errors.Is(err, amqp.ErrChannelMax) {
		t.Errorf("4th channel: %v, want ErrChannelMax", err)
	}

	// A client ignoring the limit gets 530 from the broker.
	r := rawDial(t, s, rawOptions{channelMax: 3})
	r.sendMethod(4, channelOpen, func(e *codec.Encoder) { e.ShortStr("") })
	if code, text := r.expectClose(); code != NotAllowed {
		t.Fatalf("close %d %q, want 530", code, text)
	}
}

func TestFrameTooLarge(t *testing.T) {
	s := start(t, Config{FrameMax: 4096})
	r := rawDial(t, s, rawOptions{frameMax: 4096})
	r.sendMethod(1, channelOpen, func(e *codec.Encoder) { e.ShortStr("") })
	if _, m, _ := r.readMethod(); m != channelOpenOk {
		t.Fatalf("got %v", m)
	}
	r.write(appendMethod(nil, 1, queueDeclare, func(e *codec.Encoder) {
		e.Short(0)
		e.ShortStr("q")
		e.Bits()
		e.Table(codec.Table{"pad": strings.Repeat("x", 5000)})
	}))
	if code, _ := r.expectClose(); code != FrameError {
		t.Fatalf("close %d, want 501", code)
	}
}

func TestMethodOnUnopenedChannel(t *testing.T) {
	s := start(t, Config{})
	r := rawDial(t, s, rawOptions{})
	r.sendMethod(7, queueDeclare, func(e *codec.Encoder) {
		e.Short(0)
		e.ShortStr("q")
		e.Bits()
		e.Table(nil)
	})
	if code, text := r.expectClose(); code != ChannelError || !strings.Contains(text, "expected 'channel.open'") {
		t.Fatalf("close %d %q", code, text)
	}
}

func TestCloseWaitsForGoroutines(t *testing.T) {
	s, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := amqp.DialConfig(s.URL(), amqp.Config{Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ch := open(t, c)
	declare(t, ch, "q")
	s.Freeze() // Close must not wait for Thaw
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	c.Close()
}

// Broker heartbeats keep an idle client with a 1s heartbeat connected well
// past its 1.5s read deadline, and the client's keep the broker from
// dropping it.
func TestHeartbeatsKeepIdleConnectionAlive(t *testing.T) {
	s := start(t, Config{Heartbeat: 1})
	c := dialConfig(t, s, amqp.Config{Heartbeat: time.Second})
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	select {
	case err := <-closed:
		t.Fatalf("idle connection closed: %v", err)
	case <-time.After(3 * time.Second):
	}
	open(t, c)
}

// LoseConfirms: the message is routed, its confirm never comes, the
// connection closes with 320; a publish without confirm mode is untouched.
func TestLoseConfirmsRoutesThenClosesTheConnection(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	ch := open(t, c)
	declare(t, ch, "lost-q")
	publish(t, ch, "", "lost-q", "plain") // no confirm mode: not counted
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	lost := s.LoseConfirms(1)
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "lost-q", false, false, amqp.Publishing{Body: []byte("routed")})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Recv(t, lost, wait, "the confirm lost")
	if err := testkit.Recv(t, closed, wait, "NotifyClose"); err == nil || err.Code != ConnectionForced {
		t.Fatalf("connection closed with %v, want 320", err)
	}
	testkit.Recv(t, dc.Done(), wait, "the publish's confirmation")
	if dc.Acked() {
		t.Fatal("acked; want the confirm lost")
	}
	if q := queueInfo(t, s, "lost-q"); q.Messages != 2 {
		t.Fatalf("queue holds %d messages, want both routed", q.Messages)
	}
	if st := s.Stats(); st.Confirms != 0 {
		t.Fatalf("%d confirms sent", st.Confirms)
	}
	// The count is used up: a new connection's confirms come.
	ch2 := open(t, dial(t, s))
	if err := ch2.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err = ch2.PublishWithDeferredConfirmWithContext(context.Background(), "", "lost-q", false, false, amqp.Publishing{Body: []byte("acked")})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Recv(t, dc.Done(), wait, "the next confirmation")
	if !dc.Acked() {
		t.Fatal("not acked")
	}
}
