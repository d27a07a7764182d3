package rpc

import (
	"errors"
	"fmt"

	"github.com/warrenmq/warren/actors/kazoo"
)

// Config sizes the RPC worker pool behind supervisor.Tree.Call; zero fields
// take the defaults. It is supervisor.Config.RPC, the config.ini keys named
// below.
type Config struct {
	// Workers is the number of worker actors ("warren/workers/workers-N"),
	// each with a channel and a reply queue (rpc_workers). Defaults to
	// DefaultWorkers. A negative value runs no workers.
	Workers int
	// Node names the reply queues ("<node>-warren_worker-N-<hex>") and,
	// when set, is the Node header of requests that set none (node).
	// Defaults to "warren@<host name>" for the queues, no header.
	Node string
	// Defaults are the envelope headers (App-Name, App-Version, Node)
	// every request of the tree (Call, CallCollect, Cast) gets where its
	// own Request.Defaults leaves them empty, as Kazoo's kz_amqp_worker
	// stamps its node's on every request. Server-ID is each worker's reply
	// queue: it is refused here.
	Defaults kazoo.Defaults
	// NegativeThreshold is Kazoo's neg_resp_threshold ([amqp] pool_threshold).
	NegativeThreshold int
}

// maxNodeLen keeps a reply queue's name ("<node>-warren_worker-<name>-<hex>")
// within AMQP's 255 bytes, zone names included.
const maxNodeLen = 128

// Validate reports a node too long for a queue name and a Server-ID
// default, naming the config.ini key.
func (c Config) Validate() error {
	if len(c.Node) > maxNodeLen {
		return fmt.Errorf("node: %d bytes, at most %d: it names the reply queues, which AMQP bounds to 255 bytes", len(c.Node), maxNodeLen)
	}
	if c.Defaults.ServerID != "" {
		return errors.New("defaults: Server-ID is set per request to the worker's reply queue, not configured")
	}
	return nil
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	return c
}

// RequestDefaults returns d with its empty fields taken from c.Defaults,
// and Node from c.Node when both leave it empty: the headers a request
// whose Request.Defaults is d gets.
func (c Config) RequestDefaults(d kazoo.Defaults) kazoo.Defaults {
	if d.AppName == "" {
		d.AppName = c.Defaults.AppName
	}
	if d.AppVersion == "" {
		d.AppVersion = c.Defaults.AppVersion
	}
	if d.Node == "" {
		d.Node = c.Defaults.Node
	}
	if d.Node == "" {
		d.Node = c.Node
	}
	return d
}
