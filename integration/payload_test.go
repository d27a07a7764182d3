package integration

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// A Kazoo envelope gzipped by a client Warren did not write (rabbitmq-c's
// amqp-publish, content encoding gzip, as Kazoo sends large bodies) is
// decompressed and dispatched by a Warren listener; so is one Warren
// gzips itself. On the real broker, a user id other than the connection's
// is refused for that publish alone, with RabbitMQ's reason.
func TestPayload_GzippedEnvelopeFromAmqpPublish(t *testing.T) {
	if _, err := exec.LookPath("amqp-publish"); err != nil {
		t.Fatal("amqp-publish missing: run .ci/install-deps (apt-get install amqp-tools)")
	}
	b := SharedBroker(t)
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	key := "gzip." + kazoo.Encode(t.Name())
	large := strings.Repeat("a large MMS body ", 4000)
	bodies := make(chan string, 4)
	spawnListener(t, tree, listener.Spec{Name: t.Name(), Queue: listener.QueueSpec{Name: t.Name(), AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "kapps", RoutingKey: key}},
		Handlers: []listener.Route{{Category: "im", Name: "outbound", Handler: func(_ context.Context, d *listener.Delivery) error {
			if d.Envelope.Text("Body") != large || !bytes.HasPrefix(d.Body, []byte("{")) {
				bodies <- "body mangled: " + d.Envelope.MsgID()
				return nil
			}
			bodies <- d.Envelope.MsgID()
			return nil
		}}}})

	env := func(id string) []byte {
		return []byte(`{"Event-Category":"im","Event-Name":"outbound","Msg-ID":"` + id + `","Body":"` + large + `"}`)
	}
	// rabbitmq-c reads a trailing "/" as the empty vhost: give it none. The
	// body, binary, goes through stdin.
	cmd := exec.Command("amqp-publish", "--url", strings.TrimSuffix(b.URI(), "/"), "-e", "kapps", "-r", key,
		"-C", "application/json", "-E", "gzip")
	cmd.Stdin = bytes.NewReader(kazoo.Gzip(env("from-c")))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("amqp-publish: %v: %s", err, out)
	}
	if got := recv(t, bodies, 10*time.Second, "the rabbitmq-c message"); got != "from-c" {
		t.Fatalf("handler got %q", got)
	}

	ctx := within(t, 5*time.Second)
	if err := tree.Publish(ctx, "kapps", key, env("from-warren"), publish.Gzip(), publish.UserID("guest")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, bodies, 5*time.Second, "Warren's gzipped message"); got != "from-warren" {
		t.Fatalf("handler got %q", got)
	}
	err := tree.Publish(ctx, "kapps", key, env("refused"), publish.UserID("mallory"))
	if !errors.Is(err, publish.ErrUserRefused) || !strings.Contains(err.Error(), "user_id property set to 'mallory'") {
		t.Fatalf("a foreign user id: %v, want ErrUserRefused with RabbitMQ's reason", err)
	}
	if err := tree.Publish(ctx, "kapps", key, env("after"), publish.Gzip(), publish.Confirm()); err != nil {
		t.Fatalf("the publish after the refusal: %v", err)
	}
	if got := recv(t, bodies, 5*time.Second, "the message after the refusal"); got != "after" {
		t.Fatalf("handler got %q", got)
	}
}
