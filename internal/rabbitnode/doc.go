// Package rabbitnode starts throw-away RabbitMQ nodes as child processes: `warren bench`'s own
// node, and under the integration package's test harness every node of the integration tests.
//
// It holds no test code and imports no testing package, so the shipped warren binary can start
// a node: every operation returns an error and takes a context where it waits, and the caller
// owns the node's directory and its end (Kill or Stop). The integration package turns those
// errors into t.Fatal and registers the cleanups.
//
//	n, err := rabbitnode.Start(ctx, dir)
//	if err != nil { ... }
//	defer n.Kill()
//	// ... connect to n.URI() ...
//	_ = n.Kill()       // kill -9, port closed
//	_ = n.Start(ctx)   // same port, same data, ready for AMQP
//
// # A node of its own
//
// Every node is a fresh node of the locally installed RabbitMQ: its own Erlang node name
// ("warren-it-<random>@localhost"), its own free ports on 127.0.0.1 (AMQP, optional AMQPS,
// Erlang distribution), its own Erlang cookie and its own data, log and config files in dir.
//
// # The system broker is never touched
//
// The node that may run on 127.0.0.1:5672 (rabbit@localhost) is never stopped, reconfigured or
// reached by rabbitmqctl: the package never picks 4369, 5671, 5672, 15672 or 25672
// ([ReservedPort]), ignores /etc/rabbitmq (it points RABBITMQ_CONF_ENV_FILE,
// RABBITMQ_CONFIG_FILE and RABBITMQ_CONFIG_FILES at its own files) and refuses to run
// rabbitmqctl against [SystemNode]. epmd is shared with the system and left running.
//
// # Installation
//
// A missing RabbitMQ is [ErrNoRabbitMQ], which names the fix (.ci/install-deps). Set
// WARREN_IT_RABBITMQ_BIN ([EnvRabbitMQBin]) to a directory holding rabbitmq-server and
// rabbitmqctl to use another installation; by default the package uses /usr/lib/rabbitmq/bin
// (Debian: the /usr/sbin wrappers would su to the rabbitmq user) or the first rabbitmq-server
// on PATH.
//
// # Processes
//
// The node runs under a small sh watchdog in its own process group. The watchdog's stdin is a
// pipe from this process; when this process dies without killing its nodes (a panic, a test's
// -timeout, kill -9), the pipe closes and the watchdog kills the whole group, so nodes never
// outlive the program that started them. [Node.Kill] SIGKILLs the group and the beam.smp's
// helper processes; [Node.Freeze] SIGSTOPs beam.smp only, which leaves the ports open and the
// broker silent. [Node.Stop] (SIGTERM) and [Node.StopWithCtl] (rabbitmqctl stop, as an
// operator's rolling restart does) are graceful; [Node.Start] brings the node back with its
// data, and a cluster node rejoins its cluster. Like a real crash, Kill loses metadata declared
// in the last ~2 s unless [Node.SyncMetadata] ran first.
//
// # Speed
//
// A node boots in about 4-6 s on two cores. Unless [WithPlugins] asks for plugins, the node's
// RABBITMQ_PLUGINS_DIR holds only the applications rabbit depends on, which spares the
// configuration-schema and plugin scans (about 1.5 s). Readiness means an AMQP handshake as
// guest succeeded; [Node.WaitReady] polls for it with short dials bounded by a deadline: a
// port or a process offers nothing to wait on.
//
// # Concurrency
//
// A [Node] is safe for concurrent use by multiple goroutines; its lifecycle operations (Start,
// Stop, Kill, Freeze, Thaw) are serialized.
package rabbitnode
