package supervisor

import (
	"context"

	"github.com/warrenmq/warren/actors"
)

// DeclareExchange declares exchange x on every broker, as Kazoo's
// kz_amqp_util:declare_exchange does, and records it: each broker's
// connection declares it again whenever it connects (after a broker
// restart, a network cut, on a broker added later with AddBroker), after
// Config.Exchanges. It fails, and records nothing, when a broker refuses
// it (406: declared before with other flags) or no broker is connected;
// see [actors.ChangeTopology]. It returns by ctx's end.
func (t *Tree) DeclareExchange(ctx context.Context, x actors.Exchange) error {
	return actors.ChangeTopology(ctx, t.env, actors.TopologyChange{Op: actors.TopoDeclare, Exchange: x})
}

// DeleteExchange deletes exchange name on every connected broker and
// forgets it, with the recorded bindings to or from it (RabbitMQ deletes
// those with it): it is no longer declared on connect. An exchange of
// Config.Exchanges comes back at the next connect. It returns by ctx's end.
func (t *Tree) DeleteExchange(ctx context.Context, name string) error {
	return actors.ChangeTopology(ctx, t.env, actors.TopologyChange{Op: actors.TopoDelete, Exchange: actors.Exchange{Name: name}})
}

// BindExchange binds exchange destination to exchange source with
// routingKey and args (AMQP exchange.bind, Kazoo's
// kz_amqp_util:exchange_bind): what is published to source and matches
// goes on to destination. Both exchanges must exist. The binding is
// recorded and declared again on every connect like DeclareExchange's
// exchanges, and fails (unrecorded) as they do. It returns by ctx's end.
func (t *Tree) BindExchange(ctx context.Context, destination, source, routingKey string, args map[string]any) error {
	b := actors.ExchangeBinding{Destination: destination, Source: source, RoutingKey: routingKey, Args: args}
	return actors.ChangeTopology(ctx, t.env, actors.TopologyChange{Op: actors.TopoBind, Binding: b})
}

// UnbindExchange removes the binding BindExchange made (the same four
// values) on every connected broker and forgets it. It returns by ctx's
// end.
func (t *Tree) UnbindExchange(ctx context.Context, destination, source, routingKey string, args map[string]any) error {
	b := actors.ExchangeBinding{Destination: destination, Source: source, RoutingKey: routingKey, Args: args}
	return actors.ChangeTopology(ctx, t.env, actors.TopologyChange{Op: actors.TopoUnbind, Binding: b})
}
