// Package federation holds what Warren needs to mirror a listener's
// bindings onto the brokers of other zones: Kazoo's listener_federator and
// the rules gen_listener follows to start them. So far it holds the queue
// name a federator declares ([QueueName]) and the brokers a federated
// binding is mirrored to ([Brokers]).
//
// Federator actors are to run under the tree's federated_listeners_sup
// (simple_one_for_one, children transient): one per remote broker and
// federated listener, each holding a sticky channel on its broker. They are
// not written yet; the supervisor is started empty.
package federation
