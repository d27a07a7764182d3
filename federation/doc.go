// Package federation mirrors listeners onto the brokers of the other zones:
// Kazoo's listener_federator and the rules gen_listener follows to start
// them.
//
// [Federators] keeps one federator per federated listener (listener.Spec
// with Federate) and broker of another zone, spawned under the tree's
// federated_listeners_sup as "<listener>@<broker>": a listener of its own
// (listener.FederatorSpec) on a sticky channel to that broker, its queue
// named "<queue>-<local zone>" ([QueueName]), with the parent's bindings
// and routes, those changed at run time included ([Federators.Binding],
// [Federators.Route]). It follows the connections table: a broker added at run
// time gets federators, a removed one loses them, a broker that is down
// keeps its federator waiting for its channel. [Brokers] lists the brokers
// of the other zones.
//
// A federator's deliveries reach the parent's handlers with AMQP-Broker
// (the remote broker's id, host:port[@vhost], never a credential) and
// AMQP-Broker-Zone in their envelope, as Kazoo's federator adds them; a
// reply goes back through that broker.
package federation
