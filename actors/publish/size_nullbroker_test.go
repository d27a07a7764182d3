package publish_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/registry"
)

// A fire-and-forget publish over the broker's max_message_size among small
// ones fails alone with ErrTooLarge naming the broker's limit; every small
// one arrives (the broker closes the channel on it and used to discard
// those written after it), and the limit applies to later publishes.
func TestPublish_OversizedFireAndForgetFailsAlone(t *testing.T) {
	nb := startNull(t, nullbroker.Config{MaxMessageSize: 100000})
	tree := pubTree(t, nb, publish.Config{})
	d := consumer(t, nb, "size-q", "kapps", "k")
	ctx := within(t, 10*time.Second)
	small := []byte(`{"Event-Category":"x"}`)
	var failed []error
	for i := range 301 {
		body := small
		if i == 100 {
			body = bytes.Repeat([]byte("b"), 200000)
		}
		if err := tree.Publish(ctx, "kapps", "k", body); err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) != 1 || !errors.Is(failed[0], publish.ErrTooLarge) || !strings.Contains(failed[0].Error(), "max_message_size is 100000") {
		t.Fatalf("failed: %v; want the oversized one only, naming the broker's limit", failed)
	}
	for range 300 {
		if got := next(t, d); !bytes.Equal(got.Body, small) {
			t.Fatalf("delivery %q", got.Body)
		}
	}
	err := tree.Publish(ctx, "kapps", "k", make([]byte, 100001))
	if !errors.Is(err, publish.ErrTooLarge) || !strings.Contains(err.Error(), "max_message_size is 100000") {
		t.Fatalf("a later oversized publish: %v", err)
	}
}

// A broker limit below the size up to which fire-and-forget publishes go
// out unprobed: the plain channel the broker closes is counted on the
// publishers' rows (PlainClosed), and the limit learned applies to later
// publishes.
func TestPublish_PlainChannelClosedOverSizeIsCounted(t *testing.T) {
	nb := startNull(t, nullbroker.Config{MaxMessageSize: 1000})
	tree := pubTree(t, nb, publish.Config{})
	ctx := within(t, 10*time.Second)
	if err := tree.Publish(ctx, "kapps", "k", make([]byte, 2000)); err != nil {
		t.Fatalf("written: %v", err) // only the broker knows its limit
	}
	waitPublishers(t, tree, "the plain channel's close counted", func(rows []registry.Publisher) bool {
		return total(rows, func(r registry.Publisher) uint64 { return r.PlainClosed }) == 1
	})
	err := tree.Publish(ctx, "kapps", "k", make([]byte, 2000))
	if !errors.Is(err, publish.ErrTooLarge) || !strings.Contains(err.Error(), "max_message_size is 1000") {
		t.Fatalf("after the close: %v, want ErrTooLarge naming the broker's limit", err)
	}
}
