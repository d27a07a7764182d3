package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/registry"
)

const (
	// spawnTimeout bounds a request to connection_sup.
	spawnTimeout = 10 * time.Second
	// respawnDelay is how long the connections actor waits before it starts
	// again a connection actor that died (connection_sup gave up on it, or was
	// itself restarted).
	respawnDelay = time.Second
)

// connections is the registry of broker connections: Kazoo's
// kz_amqp_connections. It starts connection actors under connection_sup,
// watches them, and is the only writer of the connections table; connection
// actors report their state to it. A connection actor that dies for good
// (its supervisor's restart intensity exceeded) is started again after
// respawnDelay, so a broker is never silently forgotten.
//
// Owner:    its mailbox.
// Writes:   the connections table.
// Blocking: none; requests to connection_sup are awaited with ReenterAfter.
type connections struct {
	env      *Env
	w        registry.ConnectionsWriter // the table's only writer
	log      *slog.Logger
	specs    map[string]BrokerSpec // broker id -> spec, for every added broker
	byPath   map[string]string     // connection actor path -> broker id
	removing map[string]bool       // broker ids being removed on purpose
	draining map[string]bool       // connection ids being drained (DrainBroker): the rows' Draining column
}

type respawn struct{ id string }

// NewConnectionsProps returns the props of the connections actor, which
// writes the connections table through w (the tree hands it the only one).
func NewConnectionsProps(env *Env, w registry.ConnectionsWriter) *actor.Props {
	// The specs are configuration: they survive a restart of the actor, so
	// that it can still start again the connections it was given.
	// So is the draining mark: set by an operator, it stays until undrained.
	specs, draining := map[string]BrokerSpec{}, map[string]bool{}
	return actor.PropsFromProducer(func() actor.Actor {
		return &connections{env: env, w: w, log: env.Log.With("actor", ConnectionsName),
			specs: specs, byPath: map[string]string{}, removing: map[string]bool{}, draining: draining}
	}, actor.WithReceiverMiddleware(env.Lifecycle(registry.Worker, "")))
}

var _ actor.Actor = (*connections)(nil)

func (c *connections) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started: // after a restart: watch the connections still running
		for _, row := range c.env.Registry.Connections() {
			if _, ok := c.specs[row.ID]; ok && row.Actor != "" {
				pid := c.env.System.NewLocalPID(row.Actor)
				c.byPath[pid.Id] = row.ID
				ctx.Watch(pid)
			}
		}
	case *AddBroker:
		c.onAdd(ctx, m)
	case *RemoveBroker:
		c.onRemove(ctx, m)
	case *AddConnection:
		c.onAddConnection(ctx, m)
	case *connectionStatus:
		if id, ok := c.byPath[m.row.Actor]; ok && id == m.row.ID {
			m.row.Draining = c.draining[id]
			c.write(func(w *registry.ConnectionsTx) error { return w.PutConnection(m.row) })
		}
	case *drainMark:
		c.onDrainMark(m)
	case *actor.Terminated:
		c.onTerminated(ctx, m.Who.Id)
	case *respawn:
		if spec, ok := c.specs[m.id]; ok {
			c.start(ctx, spec, func(err error) {
				if err != nil {
					c.log.Error("starting a connection again failed", "broker", m.id, "err", err)
				}
			})
		}
	}
}

func (c *connections) write(fn func(w *registry.ConnectionsTx) error) {
	if err := c.w.Write(fn); err != nil {
		c.log.Error("writing connections", "err", err)
	}
}

func (c *connections) onAdd(ctx actor.Context, m *AddBroker) {
	reply := func(r *BrokerAdded) {
		if ctx.Sender() != nil {
			ctx.Respond(r)
		}
	}
	spec, err := m.Spec.Normalize(c.env.LocalZone)
	if err != nil {
		reply(&BrokerAdded{Err: err})
		return
	}
	if _, dup := c.specs[spec.ID]; dup {
		reply(&BrokerAdded{ID: spec.ID, Err: fmt.Errorf("warren: broker %s: already added", spec.ID)})
		return
	}
	specs := []BrokerSpec{spec}
	for n := 2; n <= spec.Connections; n++ {
		specs = append(specs, spec.nth(n))
	}
	if c.env.SplitPublishing {
		specs = append(specs, spec.publishing())
	}
	pending, failed := len(specs), error(nil)
	for _, s := range specs {
		c.start(ctx, s, func(err error) {
			if err != nil && failed == nil {
				failed = err
			}
			if pending--; pending > 0 {
				return
			}
			if failed != nil {
				for _, s := range specs { // all or nothing: stop what did start
					c.stop(ctx, s.ID)
				}
				reply(&BrokerAdded{ID: spec.ID, Err: failed})
				return
			}
			c.log.Info("broker added", "broker", spec.ID, "zone", spec.Zone, "uri", spec.URI(), "connections", len(specs))
			reply(&BrokerAdded{ID: spec.ID})
		})
	}
}

// start spawns the connection actor of spec under connection_sup and calls
// done with the outcome.
func (c *connections) start(ctx actor.Context, spec BrokerSpec, done func(error)) {
	props, err := NewConnectionProps(c.env, spec)
	if err != nil {
		done(err)
		return
	}
	c.specs[spec.ID] = spec
	// The child's path is known before it exists: its first status report
	// may arrive before the spawn's answer.
	path := c.env.PID(ConnSupName).Id + "/" + spec.ID
	c.byPath[path] = spec.ID
	f := ctx.RequestFuture(c.env.PID(ConnSupName), &SpawnChild{Name: spec.ID, Props: props}, spawnTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		r, _ := res.(*ChildSpawned)
		if r != nil && err == nil {
			err = r.Err
		}
		if err != nil {
			delete(c.specs, spec.ID)
			delete(c.byPath, path)
			c.write(func(w *registry.ConnectionsTx) error { return w.DeleteConnection(spec.ID) })
			done(fmt.Errorf("warren: broker %s: start connection: %w", spec.ID, err))
			return
		}
		c.byPath[r.PID.Id] = spec.ID
		ctx.Watch(r.PID)
		if c.draining[spec.ID] { // started again: its detail line says so again
			c.env.Send(r.PID, &drainMark{ids: []string{spec.ID}, on: true})
		}
		done(nil)
	})
}

// stop stops the connection actor id (fire and forget) and forgets it.
func (c *connections) stop(ctx actor.Context, id string) {
	if _, ok := c.specs[id]; !ok {
		return
	}
	c.removing[id] = true
	delete(c.specs, id)
	c.forgetDraining(id)
	ctx.Send(c.env.PID(ConnSupName), &StopChild{Name: id})
	c.write(func(w *registry.ConnectionsTx) error { return w.DeleteConnection(id) })
}

func (c *connections) onRemove(ctx actor.Context, m *RemoveBroker) {
	if _, ok := c.specs[m.ID]; !ok {
		ctx.Respond(&BrokerRemoved{Err: fmt.Errorf("warren: broker %s: %w", m.ID, registry.ErrNotFound)})
		return
	}
	for id, s := range c.specs { // its publishing connection and extra consuming ones, if any
		if id != m.ID && s.Broker() == m.ID {
			c.stop(ctx, id)
		}
	}
	c.removing[m.ID] = true
	f := ctx.RequestFuture(c.env.PID(ConnSupName), &StopChild{Name: m.ID}, spawnTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if r, ok := res.(*ChildStopped); ok && err == nil {
			err = r.Err
		}
		if err == nil {
			delete(c.specs, m.ID)
			c.forgetDraining(m.ID)
			c.write(func(w *registry.ConnectionsTx) error { return w.DeleteConnection(m.ID) })
		}
		delete(c.removing, m.ID)
		ctx.Respond(&BrokerRemoved{Err: err})
	})
}

func (c *connections) onTerminated(ctx actor.Context, path string) {
	id, ok := c.byPath[path]
	if !ok {
		return
	}
	delete(c.byPath, path)
	c.write(func(w *registry.ConnectionsTx) error { return w.DeleteConnection(id) })
	if c.removing[id] {
		if _, awaited := c.specs[id]; !awaited { // stopped by stop, not awaited by onRemove
			delete(c.removing, id)
		}
		return
	}
	if _, ok := c.specs[id]; ok {
		c.log.Warn("connection actor died; starting it again", "broker", id, "after", respawnDelay)
		self, env := ctx.Self(), c.env
		time.AfterFunc(respawnDelay, func() { env.Send(self, &respawn{id: id}) })
	}
}

// onDrainMark sets the Draining column of the rows m names and tells their
// connection actors, whose detail line shows it.
func (c *connections) onDrainMark(m *drainMark) {
	var paths []string
	c.write(func(w *registry.ConnectionsTx) error {
		for _, id := range m.ids {
			if _, ok := c.specs[id]; !ok {
				continue
			}
			if m.on {
				c.draining[id] = true
			} else {
				delete(c.draining, id)
			}
			row, ok := w.ConnectionRow(id)
			if !ok {
				continue
			}
			paths = append(paths, row.Actor)
			if row.Draining == m.on {
				continue
			}
			row.Draining = m.on
			if err := w.PutConnection(row); err != nil {
				return err
			}
		}
		return nil
	})
	for _, path := range paths {
		c.env.Send(c.env.System.NewLocalPID(path), &drainMark{on: m.on})
	}
}

// forgetDraining drops the draining mark of connection id, removed: a
// broker added again later starts undrained, at the assignments actor too.
func (c *connections) forgetDraining(id string) {
	if c.draining[id] {
		delete(c.draining, id)
		c.env.Send(c.env.PID(AssignmentsName), &drainMark{ids: []string{id}})
	}
}

// onAddConnection starts one more consuming connection to a broker: the
// next free number (NthConnID), up to its spec's MaxConnections.
func (c *connections) onAddConnection(ctx actor.Context, m *AddConnection) {
	reply := func(r *ConnectionAdded) {
		r.Broker = m.Broker
		if ctx.Sender() != nil {
			ctx.Respond(r)
		}
	}
	first, ok := c.specs[m.Broker]
	if !ok || first.Role() != registry.Consume {
		reply(&ConnectionAdded{Err: fmt.Errorf("warren: add connection to broker %s: %w", m.Broker, registry.ErrNotFound)})
		return
	}
	if c.removing[m.Broker] {
		reply(&ConnectionAdded{Err: fmt.Errorf("warren: add connection to broker %s: being removed", m.Broker)})
		return
	}
	used := map[string]bool{}
	for id, s := range c.specs {
		if s.Broker() == m.Broker && s.Role() == registry.Consume {
			used[id] = true
		}
	}
	n := nextConnNumber(m.Broker, used, first.MaxConnections)
	if n == 0 {
		reply(&ConnectionAdded{Err: fmt.Errorf("warren: add connection to broker %s: %w (%d)", m.Broker, ErrMaxConnections, first.MaxConnections)})
		return
	}
	spec := first.nth(n)
	c.start(ctx, spec, func(err error) {
		if err != nil {
			reply(&ConnectionAdded{Err: err})
			return
		}
		c.log.Info("connection added", "broker", m.Broker, "connection", spec.ID, "connections", len(used)+1)
		reply(&ConnectionAdded{ID: spec.ID})
	})
}

// nextConnNumber returns the smallest n >= 2 whose NthConnID is not in
// used, the consuming connections of broker, or 0 when broker has max of
// them already.
func nextConnNumber(broker string, used map[string]bool, max int) int {
	if len(used) >= max {
		return 0
	}
	for n := 2; ; n++ {
		if !used[NthConnID(broker, n)] {
			return n
		}
	}
}
