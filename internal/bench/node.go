package bench

import (
	"fmt"

	"github.com/warrenmq/warren/integration"
)

// Node starts a throw-away RabbitMQ node for the bench (the integration
// harness's: free ports, its own data and config files; the machine's
// broker is never touched) and returns its URI and a function that stops
// it and removes its files.
func Node() (node *integration.Broker, stop func(), err error) {
	tb := integration.NewProcessTB("warren-bench", func(string, ...any) {})
	defer func() {
		if r := recover(); r != nil {
			tb.Close()
			node, stop, err = nil, nil, fmt.Errorf("bench: start a RabbitMQ node: %v", r)
		}
	}()
	return integration.StartBroker(tb), tb.Close, nil
}
