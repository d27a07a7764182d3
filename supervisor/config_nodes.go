package supervisor

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// NodesConfig declares the tree's "nodes" actor (Kazoo's kz_nodes): this
// node's advertisement on Kazoo's "nodes" exchange and the list of the
// installation's nodes it keeps from the others' (`warren nodes`).
//
// A tree that runs no publishers (Publish.Publishers < 0) cannot advertise
// and runs no nodes actor, as does one with Disabled set.
type NodesConfig struct {
	// Disabled runs no nodes actor at all: the node neither advertises nor
	// lists the others (the CLI's client commands, which are not nodes of
	// the installation).
	Disabled bool
	// Silent turns this node's advertisement off (config.ini's [warren]
	// advertise = false): Kazoo nodes always advertise, and so does Warren
	// unless told. The tree still lists the others.
	Silent bool
	// Period is the time between two advertisements and the expiry they
	// announce ([warren] advertise_period). Zero means Kazoo's: 5 s plus
	// up to 10 s at random (nodes.DefaultPeriodMin, DefaultPeriodJitter).
	Period time.Duration
	// Node names this node in the installation (the Node header). Defaults
	// to Config.RPC.Node ([warren] node), else "warren-<pid>@<hostname>":
	// two processes on one host are two nodes, as two Erlang VMs are.
	Node string
	// Version is the Version it advertises. Defaults to "(devel)"; the
	// warren command sets its own.
	Version string
}

// node returns the node name of the advertisement.
func (c NodesConfig) node(rpcNode string) string {
	switch {
	case c.Node != "":
		return c.Node
	case rpcNode != "":
		return rpcNode
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("warren-%d@%s", os.Getpid(), host)
}

// validate checks c.
func (c NodesConfig) validate() error {
	if c.Period < 0 {
		return fmt.Errorf("nodes: advertise period %v is negative", c.Period)
	}
	if strings.ContainsAny(c.Node, "\r\n") {
		return fmt.Errorf("nodes: node name has a line break")
	}
	return nil
}
