// Package integration starts throw-away RabbitMQ nodes for Warren's tests, and holds the tests
// against them.
//
// Every [StartBroker] boots a fresh node of the locally installed RabbitMQ as a child process of
// the test binary: its own Erlang node name ("warren-it-<random>@localhost"), its own free ports
// on 127.0.0.1 (AMQP, optional AMQPS, Erlang distribution), its own Erlang cookie and its own data,
// log and config directory under t.TempDir(). The node is killed in t.Cleanup.
//
// The harness is a thin layer over internal/rabbitnode, which starts and stops the node and
// imports no testing package (`warren bench` starts its node with it, so the shipped binary links
// no test code): a [Broker] wraps a rabbitnode.Node, turns its errors into t.Fatal and registers
// its cleanup. rabbitnode's doc describes the node in full.
//
//	func TestConnection_RedialsAfterBrokerKill(t *testing.T) {
//		b := integration.StartBroker(t)
//		// ... connect Warren to b.URI() ...
//		b.Kill(t)  // kill -9, port closed
//		b.Start(t) // same port, same data, ready for AMQP
//	}
//
// # The system broker is never touched
//
// The node that may run on 127.0.0.1:5672 (rabbit@localhost) is never stopped, reconfigured or
// reached by rabbitmqctl: the harness never picks 4369, 5671, 5672, 15672 or 25672, ignores
// /etc/rabbitmq (it points RABBITMQ_CONF_ENV_FILE, RABBITMQ_CONFIG_FILE and RABBITMQ_CONFIG_FILES
// at its own files) and refuses to run rabbitmqctl against rabbit@localhost. epmd is shared with
// the system and left running.
//
// # Running
//
//	.ci/install-deps                          # installs rabbitmq-server and amqp-tools if missing
//	go test -race -count=1 ./integration/
//
// A missing RabbitMQ fails the test (it never skips) and names the fix. Set WARREN_IT_RABBITMQ_BIN
// to a directory holding rabbitmq-server and rabbitmqctl to use another installation; by default
// the harness uses /usr/lib/rabbitmq/bin (Debian: the /usr/sbin wrappers would su to the rabbitmq
// user) or the first rabbitmq-server on PATH.
//
// # Processes
//
// The node runs under a small sh watchdog in its own process group. The watchdog's stdin is a pipe
// from the test binary; when the test binary dies without running its cleanups (a panic, a
// -timeout, kill -9), the pipe closes and the watchdog kills the whole group, so nodes never
// outlive their test. [Broker.Kill] SIGKILLs the group and the beam.smp's helper processes;
// [Broker.Freeze] SIGSTOPs beam.smp only, which leaves the ports open and the broker silent.
// [Broker.Stop] (SIGTERM) and [Broker.StopWithCtl] (rabbitmqctl stop, as an operator's rolling
// restart does) are graceful; [Broker.Start] brings the node back with its data, and a cluster
// node rejoins its cluster.
// Like a real crash, Kill loses metadata declared in the last ~2 s unless [Broker.SyncMetadata]
// ran first.
//
// # Speed
//
// A node boots in about 4-6 s on two cores. Unless [WithPlugins] asks for plugins, the node's
// RABBITMQ_PLUGINS_DIR holds only the applications rabbit depends on, which spares the
// configuration-schema and plugin scans (about 1.5 s). Readiness means an AMQP handshake as
// guest succeeded; [Broker.WaitReady] polls for it with short dials bounded by a deadline.
//
// # Concurrency
//
// A [Broker] is safe for concurrent use, but its methods that take a testing.TB must be called
// from the test's goroutine, as t.Fatal requires.
package integration
