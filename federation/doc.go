// Package federation holds what Warren needs to mirror a listener's
// bindings onto the brokers of other zones: Kazoo's listener_federator and
// the rules gen_listener follows to start them (kazoo.md §6e).
//
// Federator actors run under the tree's federated_listeners_sup
// (simple_one_for_one, children transient): one per remote broker and
// federated listener, each holding a sticky channel on its broker.
package federation
