package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/registry"
)

// ExchangeBinding is an exchange-to-exchange binding (Kazoo's
// kz_amqp_util:exchange_bind): see registry.ExchangeBinding.
type ExchangeBinding = registry.ExchangeBinding

// TopologyTimeout bounds how long ChangeTopology waits for the record and
// for the brokers' answers when its ctx has no earlier deadline.
const TopologyTimeout = 30 * time.Second

// TopologyOp says what a TopologyChange does.
type TopologyOp int

// Topology operations.
const (
	TopoDeclare TopologyOp = iota + 1 // exchange.declare of Exchange, recorded
	TopoDelete                        // exchange.delete of Exchange.Name, forgotten with its bindings
	TopoBind                          // exchange.bind of Binding, recorded
	TopoUnbind                        // exchange.unbind of Binding, forgotten

	// topoUnrecord forgets the record of Exchange alone, not the bindings
	// to or from it (which TopoDelete forgets): the undo of a declare
	// that a broker refused. It is never sent to a broker.
	topoUnrecord TopologyOp = -1
)

// TopologyChange is a change of the tree's run-time topology: the
// exchanges and exchange-to-exchange bindings that the first consuming
// connection of every broker declares again on each connect (registry
// table "topology"), as Kazoo's kz_amqp_connection does with the exchanges
// and bindings it caches.
type TopologyChange struct {
	Op       TopologyOp
	Exchange Exchange        // TopoDeclare; TopoDelete reads its Name only
	Binding  ExchangeBinding // TopoBind, TopoUnbind
}

// String names the change as errors and logs show it.
func (c TopologyChange) String() string {
	b := c.Binding
	switch c.Op {
	case TopoDeclare:
		return "declare exchange " + c.Exchange.Name
	case TopoDelete:
		return "delete exchange " + c.Exchange.Name
	case TopoBind:
		return fmt.Sprintf("bind exchange %s to %s (key %q)", b.Destination, b.Source, b.RoutingKey)
	case TopoUnbind:
		return fmt.Sprintf("unbind exchange %s from %s (key %q)", b.Destination, b.Source, b.RoutingKey)
	}
	return fmt.Sprintf("topology op %d", c.Op)
}

// Validate refuses what no broker would take, before anything is recorded:
// an exchange needs a name and a kind, a binding two named exchanges (the
// default exchange "" cannot be bound: RabbitMQ answers 403).
func (c TopologyChange) Validate() error {
	switch c.Op {
	case TopoDeclare:
		if c.Exchange.Name == "" || c.Exchange.Kind == "" {
			return fmt.Errorf("warren: declare exchange %q: name and kind are required", c.Exchange.Name)
		}
	case TopoDelete:
		if c.Exchange.Name == "" {
			return errors.New("warren: delete exchange: name is required")
		}
	case TopoBind, TopoUnbind:
		if c.Binding.Destination == "" || c.Binding.Source == "" {
			return fmt.Errorf("warren: %s: destination and source are required (the default exchange cannot be bound)", c)
		}
	default:
		return fmt.Errorf("warren: %s: unknown operation", c)
	}
	return nil
}

// refusal names what a broker refused, for the connections row's
// ExchangeErrors: "exchange X" as before, or "binding X to Y (key K)".
func (c TopologyChange) refusal() string {
	if c.Op == TopoDeclare {
		return "exchange " + c.Exchange.Name
	}
	return fmt.Sprintf("binding %s to %s (key %q)", c.Binding.Destination, c.Binding.Source, c.Binding.RoutingKey)
}

// run carries the change out on ch.
func (c TopologyChange) run(ch *amqp.Channel) error {
	b := c.Binding
	switch c.Op {
	case TopoDeclare:
		return declareExchange(ch, c.Exchange)
	case TopoDelete:
		return ch.ExchangeDelete(c.Exchange.Name, false, false)
	case TopoBind:
		return ch.ExchangeBind(b.Destination, b.RoutingKey, b.Source, false, amqp.Table(b.Args))
	case TopoUnbind:
		return ch.ExchangeUnbind(b.Destination, b.RoutingKey, b.Source, false, amqp.Table(b.Args))
	}
	return c.Validate()
}

// changeOf returns the change that declares entry again.
func changeOf(e registry.TopologyEntry) TopologyChange {
	if e.Exchange != nil {
		return TopologyChange{Op: TopoDeclare, Exchange: *e.Exchange}
	}
	return TopologyChange{Op: TopoBind, Binding: *e.Binding}
}

// bindingChanges returns the changes that declare bindings.
func bindingChanges(bindings []ExchangeBinding) []TopologyChange {
	out := make([]TopologyChange, len(bindings))
	for i, b := range bindings {
		out[i] = TopologyChange{Op: TopoBind, Binding: b}
	}
	return out
}

// ChangeTopology carries c out on the tree whose Env is env, as Kazoo's
// kz_amqp_util:declare_exchange and exchange_bind do, and keeps it for the
// connects to come:
//
//   - a declare or bind is recorded first (by the bootstrap actor, the
//     topology table's writer), then sent to the first consuming connection
//     of every broker, every zone. It succeeds when at least one broker
//     took it and none refused it. A refusal (406 for an exchange declared
//     with other flags, 404 for a binding to a missing exchange, 503 for an
//     unknown kind) or no broker connected at all (Kazoo's
//     connection_not_available) undoes the record and returns the error;
//     brokers that took it keep it.
//   - a delete or unbind is forgotten first, then sent the same way; it
//     fails when a broker refused it or none was connected (those not
//     connected keep what they have).
//
// Brokers not connected now, and brokers added later, declare every
// recorded exchange and binding when they connect, after the configured
// ones. It returns by ctx's end (TopologyTimeout at the latest for each
// of the two steps), with an error naming the cause.
func ChangeTopology(ctx context.Context, env *Env, c TopologyChange) error {
	if err := c.Validate(); err != nil {
		return err
	}
	record := c.Op == TopoDeclare || c.Op == TopoBind
	var undo *TopologyChange
	if record {
		id := c.Binding.ID()
		if c.Op == TopoDeclare {
			id = registry.ExchangeID(c.Exchange.Name)
		}
		undo = &TopologyChange{Op: topoUnrecord, Exchange: c.Exchange}
		if c.Op == TopoBind {
			undo = &TopologyChange{Op: TopoUnbind, Binding: c.Binding}
		}
		for _, e := range env.Registry.Topology() {
			if e.ID == id { // declared before: a refusal puts the old one back
				old := changeOf(e)
				undo = &old
			}
		}
	}
	if err := recordTopology(ctx, env, c); err != nil {
		return err
	}
	took, refused, unavailable := applyEverywhere(ctx, env, c)
	var err error
	switch {
	case len(refused) > 0:
		err = fmt.Errorf("warren: %s: refused: %w", c, errors.Join(refused...))
	case took == 0 && ctx.Err() != nil:
		err = fmt.Errorf("warren: %s: %w", c, ctx.Err())
	case took == 0:
		err = fmt.Errorf("warren: %s: %w (%s)", c, ErrNotConnected, unavailableCause(unavailable))
	}
	if err != nil && record {
		// Undone with a context of its own: the caller's may be what ended.
		uctx, cancel := context.WithTimeout(context.Background(), spawnTimeout)
		defer cancel()
		if uerr := recordTopology(uctx, env, *undo); uerr != nil {
			err = errors.Join(err, fmt.Errorf("warren: undo the record: %w", uerr))
		}
	}
	return err
}

func unavailableCause(errs []error) string {
	if len(errs) == 0 {
		return "no broker configured"
	}
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

// recordTopology asks the bootstrap actor to record (declare, bind) or
// forget (delete, unbind) c, and waits for the write.
func recordTopology(ctx context.Context, env *Env, c TopologyChange) error {
	reply := make(chan error, 1)
	env.Send(env.PID(BootstrapName), &RecordTopology{Change: c, Reply: reply})
	bound := time.NewTimer(TopologyTimeout)
	defer bound.Stop()
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("warren: %s: recording it: %w", c, ctx.Err())
	case <-env.Stopping:
		return fmt.Errorf("warren: %s: the tree is stopping", c)
	case <-bound.C:
		return fmt.Errorf("warren: %s: the bootstrap actor did not record it within %v", c, TopologyTimeout)
	}
}

// applyEverywhere sends c to the first consuming connection of every
// broker and sorts the answers: took counts the brokers that did it,
// refused holds the brokers' refusals, unavailable why the others could
// not (not connected, connection lost meanwhile, ctx ended).
func applyEverywhere(ctx context.Context, env *Env, c TopologyChange) (took int, refused, unavailable []error) {
	var targets []registry.Connection
	for _, row := range env.Registry.Connections() {
		if row.Role == registry.Consume && row.ID == row.Broker {
			targets = append(targets, row)
		}
	}
	replies := make(chan error, len(targets))
	for _, row := range targets {
		env.Send(env.System.NewLocalPID(row.Actor), &ApplyTopology{Change: c, Reply: replies})
	}
	bound := time.NewTimer(TopologyTimeout)
	defer bound.Stop()
	for n := range targets {
		var err error
		select {
		case err = <-replies:
		case <-ctx.Done():
			return took, refused, append(unavailable, ctx.Err())
		case <-env.Stopping:
			return took, refused, append(unavailable, errors.New("the tree is stopping"))
		case <-bound.C: // an actor gone meanwhile (a removed broker) never answers
			return took, refused, append(unavailable, fmt.Errorf("%d of %d brokers did not answer within %v", len(targets)-n, len(targets), TopologyTimeout))
		}
		var ae *amqp.Error
		switch {
		case err == nil:
			took++
		case errors.As(err, &ae) && ae.Server:
			refused = append(refused, err)
		default:
			unavailable = append(unavailable, err)
		}
	}
	return took, refused, unavailable
}

// onApplyTopology runs m on the control channel, in a goroutine.
func (c *connection) onApplyTopology(m *ApplyTopology) {
	if c.sess == nil {
		m.Reply <- &BrokerError{Broker: c.spec.ID, Op: m.Change.String(), Err: ErrNotConnected}
		return
	}
	s, id := c.sess, c.spec.ID
	c.env.Go(func() { // ends when the command does, or the session's socket closes
		err := s.control(m.Change.run)
		switch {
		case err != nil:
			err = &BrokerError{Broker: id, Op: m.Change.String(), Err: err}
		default:
			s.exchanges.applied(m.Change)
		}
		m.Reply <- err
	})
}

// declaresTopology says whether this connection declares the exchanges:
// only the first consuming connection of a broker does.
func (c *connection) declaresTopology() bool {
	return c.spec.Role() == registry.Consume && c.spec.ID == c.spec.Broker()
}

// recordedTopology is what a dial declares beside the configured
// exchanges and bindings: every recorded entry.
func (c *connection) recordedTopology() []registry.TopologyEntry {
	if !c.declaresTopology() {
		return nil
	}
	return c.env.Registry.Topology()
}

// catchUp declares, after s was adopted, what was recorded while its dial
// ran (the dial read the table before): a change made meanwhile reached
// this actor before the session was up and was answered "not connected".
func (c *connection) catchUp(s *session) {
	if !c.declaresTopology() {
		return
	}
	var missed []TopologyChange
	for _, e := range registry.Replay(c.env.Registry.Topology()) {
		if !s.declared[e.ID] {
			missed = append(missed, changeOf(e))
		}
	}
	if len(missed) == 0 {
		return
	}
	log, id := c.log, c.spec.ID
	c.env.Go(func() {
		for _, ch := range missed {
			if err := s.control(ch.run); err != nil {
				log.Error("recorded topology not declared", "err", (&BrokerError{Broker: id, Op: ch.String(), Err: err}).Error())
				continue
			}
			s.exchanges.applied(ch)
		}
	})
}
