// Package nullbroker is a small in-process AMQP 0-9-1 broker for tests and
// benchmarks. It speaks the real wire protocol, the one RabbitMQ speaks, on
// a loopback TCP port, so code using an ordinary AMQP client (amqp091-go)
// can run against real sockets without a RabbitMQ node. It is a tiny
// broker, not a mock: exchanges route, queues hold messages, consumers get
// deliveries and acknowledge them, and protocol errors close channels and
// connections with the codes and reply texts RabbitMQ uses.
//
// It is the tests' broker, and a development tool: cmd/nullbroker runs it
// as a process of its own, which `warren bench --sink` starts as a broker
// that acks every publish at once. The warren command does not link it. It
// imports no testing package (only its codec sub-package and the standard
// library); test helpers that use it live in the tests' own files.
//
//	srv, err := nullbroker.Start(nullbroker.Config{})
//	if err != nil { ... }
//	defer srv.Close()
//	conn, err := amqp.Dial(srv.URL())
//
// # Supported
//
//   - connection: PLAIN login (a wrong user or password gets 403
//     ACCESS_REFUSED: connection.close for clients advertising
//     authentication_failure_close, a closed socket for the others, as
//     RabbitMQ does), one vhost (another gets 530 NOT_ALLOWED), tune
//     (channel_max and frame_max, the client may lower them; channel ids
//     above channel_max get 530), heartbeats both ways (the broker sends one
//     whenever it has been quiet for a quarter of the interval, checked
//     twice per interval, and drops a client silent for two intervals),
//     close in both directions, blocked/unblocked, update-secret.
//   - channel: open, close in both directions, flow.
//   - exchange: declare (direct, fanout, topic, headers; passive; 406 on an
//     inequivalent redeclaration; 403 on the reserved "amq." prefix and the
//     default exchange), delete (if-unused), exchange-to-exchange bind and
//     unbind, auto-delete. The default exchange and amq.direct, amq.fanout,
//     amq.topic, amq.headers, amq.match (and the internal
//     amq.rabbitmq.trace) exist from the start.
//   - queue: declare (server-named "amq.gen-…", passive, exclusive,
//     auto-delete, 406 on inequivalent flags or x- arguments), bind, unbind,
//     purge, delete (if-unused, if-empty). Every queue is bound to the
//     default exchange by its name.
//   - basic: qos (prefetch count per consumer or, with global, per
//     channel), consume (exclusive, no-ack, generated "amq.ctag-…" tags),
//     cancel (and broker-sent cancel), publish (mandatory returns with 312
//     NO_ROUTE), deliver (round robin), get, ack, nack and reject (multiple,
//     requeue to the head of the queue with the redelivered flag),
//     recover. An unknown delivery tag gets 406.
//   - confirm.select: every later publish is confirmed with basic.ack, after
//     routing and after any basic.return for it.
//   - direct reply-to ("amq.rabbitmq.reply-to").
//
// Unacknowledged messages go back to their queues when their channel or
// connection closes; exclusive queues go with their connection.
//
// # Not supported
//
// Persistence (durable is only remembered), transactions (tx.* gets 540
// NOT_IMPLEMENTED), basic.qos prefetch-size, message TTL, queue length
// limits, dead-lettering (a nack without requeue drops the message),
// alternate exchanges, priorities, consumer priorities, single active
// consumer, stream and quorum queue semantics, the immediate flag (540),
// no-local, SASL mechanisms other than PLAIN, more than one vhost, TLS.
// Queue and consumer arguments are accepted and ignored except for the
// redeclaration check. Headers exchanges compare header values with integer
// widths normalised, a little laxer than RabbitMQ.
//
// # Test controls
//
// Beyond serving clients the Server can misbehave on purpose: Kill drops
// every connection without a word, CloseConnections closes them with a code
// such as 320 CONNECTION_FORCED, Block and Unblock raise and clear a
// resource alarm, Freeze and Thaw make the broker hang with its sockets
// open, LoseConfirms closes a publisher's connection between routing a
// message and confirming it, CancelConsumers and DeleteQueue act as an operator would. Stats,
// Queues, Queue, Exchanges and Bindings show the state, and Changed
// signals each change of it, so that a test waits for a state instead of
// polling for it:
//
//	for ch := srv.Changed(); srv.Stats().Connections != 0; ch = srv.Changed() {
//		<-ch // with a deadline in a real test: testkit.Await
//	}
//
// The broker releases a connection's or channel's state (consumers,
// unacked messages, exclusive queues) before it answers the client's close
// with close-ok, as RabbitMQ does, so once amqp091-go's Close returns the
// broker's listings already reflect it.
//
// # Design
//
// All broker state lives under one mutex. Each connection has a reader
// goroutine that handles its frames under the mutex and a writer goroutine
// that drains an unbounded outgoing buffer, so handling a frame (including
// delivering to consumers on other connections) never waits on a socket; a
// connection sending heartbeats has a third goroutine. Close waits for all
// of them. The frame codec is nullbroker's own; the codec sub-package holds
// the AMQP data types.
package nullbroker
