package bench

import (
	"context"
	"fmt"
	"os"

	"github.com/warrenmq/warren/internal/rabbitnode"
)

// Node starts a throw-away RabbitMQ node for the bench (internal/rabbitnode: free ports, its own
// data and config files in a temporary directory; the machine's broker is never touched) and
// returns it and a function that kills it and removes its files.
func Node(ctx context.Context) (node *rabbitnode.Node, stop func(), err error) {
	dir, err := os.MkdirTemp("", "warren-bench-")
	if err != nil {
		return nil, nil, fmt.Errorf("bench: start a RabbitMQ node: %w", err)
	}
	n, err := rabbitnode.Start(ctx, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("bench: start a RabbitMQ node: %w", err)
	}
	return n, func() { _ = n.Kill(); _ = os.RemoveAll(dir) }, nil
}
