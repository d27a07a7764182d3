package registry

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/go-memdb"
	"github.com/warrenmq/warren/actors/kazoo"
)

// tableTopology holds the exchanges and exchange-to-exchange bindings
// declared at run time (Tree.DeclareExchange, Tree.BindExchange): the
// first consuming connection of every broker declares them again on each
// connect, after the configured exchanges, as Kazoo's kz_amqp_connection
// re-declares its cached exchanges and bindings. Its one writer is the
// tree's "bootstrap" actor.
const tableTopology = "topology"

func topologyTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableTopology, Indexes: map[string]*memdb.IndexSchema{
		"id":  {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"seq": {Name: "seq", Unique: true, Indexer: &memdb.UintFieldIndex{Field: "Seq"}},
	}}
}

// ExchangeBinding is an exchange-to-exchange binding (AMQP exchange.bind,
// Kazoo's kz_amqp_util:exchange_bind): messages published to Source whose
// routing key matches RoutingKey (and, for a headers exchange, Args) are
// routed on to Destination as if published there.
type ExchangeBinding struct {
	Destination string
	Source      string
	RoutingKey  string
	Args        map[string]any
}

// ID names the binding in the topology table: RabbitMQ tells two bindings
// of the same exchanges and key apart by their arguments too.
func (b ExchangeBinding) ID() string {
	id := "binding\x00" + b.Destination + "\x00" + b.Source + "\x00" + b.RoutingKey
	if len(b.Args) > 0 {
		id += "\x00" + fmt.Sprint(b.Args) // fmt prints a map's keys sorted
	}
	return id
}

// ExchangeID names exchange name in the topology table.
func ExchangeID(name string) string { return "exchange\x00" + name }

// TopologyEntry is a row of the topology table: one exchange (Binding
// nil) or one exchange-to-exchange binding (Exchange nil).
type TopologyEntry struct {
	ID       string           // ExchangeID or ExchangeBinding.ID
	Seq      uint64           // order of recording: replays follow it
	Exchange *kazoo.Exchange  // set for an exchange; never changed once stored
	Binding  *ExchangeBinding // set for a binding; never changed once stored
}

// TopologyWriter writes the topology table. The tree hands it to its
// "bootstrap" actor only.
type TopologyWriter struct{ r *Registry }

// RecordExchange adds (or replaces, keeping its place) exchange x.
func (w TopologyWriter) RecordExchange(x kazoo.Exchange) error {
	x.Args = maps.Clone(x.Args)
	return w.record(TopologyEntry{ID: ExchangeID(x.Name), Exchange: &x})
}

// RecordBinding adds binding b; recording it again changes nothing.
func (w TopologyWriter) RecordBinding(b ExchangeBinding) error {
	b.Args = maps.Clone(b.Args)
	return w.record(TopologyEntry{ID: b.ID(), Binding: &b})
}

func (w TopologyWriter) record(e TopologyEntry) error {
	return w.r.write(func(txn *memdb.Txn) error {
		if old, ok := firstIn[TopologyEntry](txn, tableTopology, e.ID); ok {
			e.Seq = old.Seq
		} else {
			e.Seq = 1
			if last, err := txn.Last(tableTopology, "seq"); err == nil && last != nil {
				e.Seq = last.(*TopologyEntry).Seq + 1
			}
		}
		return insert(txn, tableTopology, &e)
	})
}

// ForgetBinding removes binding b.
func (w TopologyWriter) ForgetBinding(b ExchangeBinding) error { return w.Forget(b.ID()) }

// Forget removes the row id (ExchangeID or ExchangeBinding.ID) alone.
func (w TopologyWriter) Forget(id string) error { return del(w.r, tableTopology, id) }

// ForgetExchange removes exchange name and, as RabbitMQ does when it
// deletes an exchange, every recorded binding to or from it.
func (w TopologyWriter) ForgetExchange(name string) error {
	return w.r.write(func(txn *memdb.Txn) error {
		it, err := txn.Get(tableTopology, "id")
		if err != nil {
			return err
		}
		var ids []string
		for raw := it.Next(); raw != nil; raw = it.Next() {
			e := raw.(*TopologyEntry)
			if b := e.Binding; b != nil && (b.Source == name || b.Destination == name) {
				ids = append(ids, e.ID)
			}
		}
		for _, id := range append(ids, ExchangeID(name)) {
			if err := remove(txn, tableTopology, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Topology lists the recorded exchanges and bindings in recording order.
func (r *Registry) Topology() []TopologyEntry { return r.Snapshot().Topology() }

// Topology lists the recorded exchanges and bindings in recording order.
func (s *Snapshot) Topology() []TopologyEntry { return list[TopologyEntry](s, tableTopology, "seq") }

// Replay returns entries ordered for declaring: every exchange first, then
// the bindings (a binding needs both its exchanges), each in recording
// order.
func Replay(entries []TopologyEntry) []TopologyEntry {
	out := slices.Clone(entries)
	slices.SortStableFunc(out, func(a, b TopologyEntry) int {
		switch {
		case a.Exchange != nil && b.Exchange == nil:
			return -1
		case a.Exchange == nil && b.Exchange != nil:
			return 1
		}
		return 0
	})
	return out
}
