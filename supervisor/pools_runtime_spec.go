package supervisor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/warrenmq/warren/actors"
)

// PoolKind is what a pool runs: publishers (Tree.Publish) or RPC workers
// (Tree.Call, CallCollect).
type PoolKind string

// Pool kinds.
const (
	Publishers PoolKind = "publishers"
	Workers    PoolKind = "workers"
)

func (k PoolKind) String() string { return string(k) }

// DefaultPoolSize is the size of a pool added at run time whose
// PoolSpec.Size is zero.
const DefaultPoolSize = 2

// maxPoolName bounds a pool's name, which names actors and reply queues.
const maxPoolName = 64

// PoolSpec declares a named pool added while the tree runs (Kazoo's
// kz_amqp_sup:add_amqp_pool): Size publishers or RPC workers under a
// supervisor "warren/<Name>", whose channels are, by the first field set:
//
//	Broker  stickies on that broker (a broker id, as in the connections
//	        table's Broker column); they wait while it is down
//	Tag     stickies on a broker of Zone with that tag (BrokerSpec.Tags)
//	Zone    floats of that zone ("" the local zone), as the zone's own pool
//
// Publishers take the tree's Config.Publish for the rest (buffer, waits,
// sizes), workers the tree's Config.RPC (node, request defaults).
type PoolSpec struct {
	Name   string   // letters, digits, '.', '_', '-'; unique in the tree
	Kind   PoolKind // Publishers or Workers
	Broker string
	Zone   string
	Tag    string
	Size   int // publishers or workers; 0 DefaultPoolSize
}

// Validate reports what is wrong with s on its own: a bad or reserved
// name, an unknown kind, a negative size, a broker and a tag both set.
// What the tree must know (the broker, the zone) AddPool checks.
func (s PoolSpec) Validate() error {
	if err := validPoolName(s.Name); err != nil {
		return err
	}
	if s.Kind != Publishers && s.Kind != Workers {
		return fmt.Errorf("warren: pool %q: kind %q: want %q or %q", s.Name, s.Kind, Publishers, Workers)
	}
	if s.Size < 0 {
		return fmt.Errorf("warren: pool %q: size %d: must not be negative", s.Name, s.Size)
	}
	if s.Broker != "" && s.Tag != "" {
		return fmt.Errorf("warren: pool %q: broker %q and tag %q: pin it to one broker or to a tag, not both", s.Name, s.Broker, s.Tag)
	}
	return nil
}

// reservedNames are the root's own children, which no pool may shadow.
var reservedNames = []string{actors.ConnectionsName, actors.ConnSupName, actors.FederatedName, actors.AssignmentsName,
	actors.BootstrapName, actors.ListenersName, actors.PublishersName, actors.WorkersName}

func validPoolName(name string) error {
	if name == "" {
		return errors.New("warren: pool: empty name")
	}
	if len(name) > maxPoolName {
		return fmt.Errorf("warren: pool %.16q…: %d bytes, at most %d", name, len(name), maxPoolName)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("warren: pool %q: %q: a name has letters, digits, '.', '_' and '-' only (it names actors; '@' is the zone pools')", name, r)
		}
	}
	for _, r := range reservedNames {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("%w: %q is a child of the root already", ErrPoolExists, name)
		}
	}
	return nil
}

// PoolInfo is one pool the tree runs, as Tree.Pools lists it.
type PoolInfo struct {
	Name   string   `json:"name"`             // its supervisor's name: "publishers", "workers@<zone>", an added one's
	Kind   PoolKind `json:"kind"`             //
	Zone   string   `json:"zone"`             // the zone of its brokers
	Broker string   `json:"broker,omitempty"` // the broker it is pinned to, if any
	Tag    string   `json:"tag,omitempty"`    // the broker tag it asks for, if any
	Size   int      `json:"size"`             // publishers or workers
	Added  bool     `json:"added"`            // named: added with Tree.AddPool or by Config.Pools; RemovePool removes it
	// Removing is set while Tree.RemovePool drains it.
	Removing bool `json:"removing,omitempty"`
}
