package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// One fire-and-forget publish over the broker's max_message_size among 300
// small ones costs that publish only. RabbitMQ closes the channel (406) on
// it and discards what was written on the channel after it: it used to
// take the ~200 written after it along, none of them told. Now the publish
// larger than any body the broker acked goes out confirmed, fails with
// ErrTooLarge naming the broker's limit, and the pool applies that limit
// to later publishes (they fail at once).
func TestPublish_OversizedFireAndForgetCostsItselfOnly(t *testing.T) {
	const limit, before, after = 100000, 100, 200
	b := StartBroker(t, WithConfig(fmt.Sprintf("max_message_size = %d", limit)))
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("size-q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	tree, logs := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)

	small := []byte(`{"Event-Category":"x","Event-Name":"y","Pad":"` + strings.Repeat("p", 200) + `"}`)
	big := bytes.Repeat([]byte("b"), 2*limit)
	var failed []error
	pub := func(body []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tree.Publish(ctx, "", "size-q", body); err != nil {
			failed = append(failed, err)
		}
	}
	for range before {
		pub(small)
	}
	pub(big)
	for range after {
		pub(small)
	}
	if len(failed) != 1 || !errors.Is(failed[0], publish.ErrTooLarge) || !strings.Contains(failed[0].Error(), fmt.Sprint(limit)) {
		t.Fatalf("failed publishes: %v; want one, the oversized, with ErrTooLarge naming %d", failed, limit)
	}
	t.Logf("the oversized publish: %v", failed[0])
	testkit.Poll(t, 20*time.Second, fmt.Sprintf("size-q holds the %d small messages", before+after), func() bool {
		return ctlCount(t, b, fmt.Sprintf("size-q\t%d", before+after), "list_queues", "name", "messages") == 1
	})

	// The limit learned from the broker applies at once to later publishes.
	start := time.Now()
	err := tree.Publish(context.Background(), "", "size-q", big[:limit+1])
	if !errors.Is(err, publish.ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("max_message_size is %d", limit)) {
		t.Fatalf("a later oversized publish: %v, want ErrTooLarge naming the broker's max_message_size", err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("a later oversized publish took %v: it must fail before any write", took)
	}
	if err := tree.Publish(context.Background(), "", "size-q", big[:limit]); err != nil {
		t.Fatalf("a publish of exactly the limit: %v", err)
	}
	var plainClosed uint64
	for _, r := range tree.Registry().Publishers() {
		plainClosed += r.PlainClosed
	}
	if plainClosed != 0 {
		t.Fatalf("%d plain channels closed: the oversized publish went out fire-and-forget\n%s", plainClosed, logs)
	}
}
