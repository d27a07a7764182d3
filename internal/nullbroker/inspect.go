package nullbroker

import (
	"cmp"
	"maps"
	"slices"
)

// Stats are the broker's counters.
type Stats struct {
	Connections      int64 // connections open now (handshake included)
	ConnectionsTotal int64 // connections ever accepted
	Channels         int64 // channels open now
	Published        int64 // messages received with basic.publish
	Delivered        int64 // messages sent with basic.deliver or basic.get-ok
	Acked            int64 // messages acknowledged by clients
	AckFrames        int64 // basic.ack frames received from clients (one may ack several with multiple)
	Nacked           int64 // messages nacked or rejected by clients
	Returned         int64 // messages returned with basic.return
	Confirms         int64 // basic.ack confirms sent to publishers
	// Paused counts the connections not read since they published while
	// the server was blocked, until Unblock (RabbitMQ lists them as
	// "blocked"); once it counts one, that connection reads nothing more
	// while blocked.
	Paused int64
}

// QueueInfo describes a queue.
type QueueInfo struct {
	Name       string
	Messages   int // ready for delivery
	Unacked    int // delivered, not yet acknowledged
	Consumers  int
	Durable    bool
	Exclusive  bool
	AutoDelete bool
}

// ExchangeInfo describes an exchange. The default exchange has Name "".
type ExchangeInfo struct {
	Name       string
	Kind       string // direct, fanout, topic or headers
	Durable    bool
	AutoDelete bool
	Internal   bool
}

// BindingInfo describes a binding. As in RabbitMQ's listings, every queue
// has a binding from the default exchange with its name as routing key.
type BindingInfo struct {
	Source          string
	Destination     string
	DestinationKind string // "queue" or "exchange"
	RoutingKey      string
	Args            map[string]any
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Queues lists the queues, sorted by name.
func (s *Server) Queues() []QueueInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]QueueInfo, 0, len(s.queues))
	for _, q := range s.queues {
		list = append(list, QueueInfo{
			Name: q.name, Messages: q.ready.len(), Unacked: q.unacked, Consumers: len(q.consumers),
			Durable: q.durable, Exclusive: q.exclusive, AutoDelete: q.autoDelete,
		})
	}
	slices.SortFunc(list, func(a, b QueueInfo) int { return cmp.Compare(a.Name, b.Name) })
	return list
}

// Queue returns one queue's description, and whether it exists.
func (s *Server) Queue(name string) (QueueInfo, bool) {
	for _, q := range s.Queues() {
		if q.Name == name {
			return q, true
		}
	}
	return QueueInfo{}, false
}

// Exchanges lists the exchanges, sorted by name.
func (s *Server) Exchanges() []ExchangeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]ExchangeInfo, 0, len(s.exchanges))
	for _, x := range s.exchanges {
		list = append(list, ExchangeInfo{Name: x.name, Kind: x.kind, Durable: x.durable, AutoDelete: x.autoDelete, Internal: x.internal})
	}
	slices.SortFunc(list, func(a, b ExchangeInfo) int { return cmp.Compare(a.Name, b.Name) })
	return list
}

// Bindings lists the bindings, sorted by source, destination and key.
func (s *Server) Bindings() []BindingInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []BindingInfo
	for _, q := range s.queues {
		list = append(list, BindingInfo{Destination: q.name, DestinationKind: "queue", RoutingKey: q.name, Args: map[string]any{}})
	}
	for _, x := range s.exchanges {
		for _, b := range x.bindings {
			kind := "queue"
			if b.toExchange {
				kind = "exchange"
			}
			list = append(list, BindingInfo{Source: x.name, Destination: b.dest, DestinationKind: kind, RoutingKey: b.key, Args: maps.Clone(b.args)})
		}
	}
	slices.SortFunc(list, func(a, b BindingInfo) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Destination, b.Destination),
			cmp.Compare(a.DestinationKind, b.DestinationKind), cmp.Compare(a.RoutingKey, b.RoutingKey))
	})
	return list
}

// CancelConsumers cancels every consumer of queue from the broker's side,
// as RabbitMQ does when a queue's leader goes away: clients that advertised
// consumer_cancel_notify (amqp091-go does) receive basic.cancel. An
// auto-delete queue is deleted with its last consumer. It returns the
// number of consumers cancelled.
func (s *Server) CancelConsumers(queue string) int {
	s.mu.Lock()
	defer s.unlock()
	q := s.queues[queue]
	if q == nil {
		return 0
	}
	consumers := slices.Clone(q.consumers)
	for _, cs := range consumers {
		s.cancelConsumer(cs)
	}
	return len(consumers)
}

// DeleteQueue deletes a queue from the broker's side, as an operator
// would: its consumers receive basic.cancel. It reports whether the queue
// existed.
func (s *Server) DeleteQueue(name string) bool {
	s.mu.Lock()
	defer s.unlock()
	q := s.queues[name]
	if q == nil {
		return false
	}
	s.deleteQueue(q)
	return true
}
