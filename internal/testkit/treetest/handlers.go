package treetest

import (
	"context"
	"strconv"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/internal/testkit"
)

// NackEveryFifthOnce is an AckManual handler for the tests of a listener's
// acks when its handlers decide together: it waits until its group of
// groups is full, then nacks with requeue, on its first delivery, every
// message whose Msg-ID is a multiple of five, and acks the others and the
// redeliveries. n messages with Msg-IDs 0 … n-1 are handled n + n/5 times.
func NackEveryFifthOnce(groups *testkit.Groups) listener.Handler {
	return func(ctx context.Context, d *listener.Delivery) error {
		if err := groups.Wait(ctx); err != nil {
			return err
		}
		id, err := strconv.Atoi(d.Envelope.Text("Msg-ID"))
		if err != nil {
			return err
		}
		if id%5 == 0 && !d.Redelivered {
			return d.Nack(true)
		}
		return d.Ack()
	}
}
