package actors

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/registry"
)

type amqpChannel = amqp.Channel

// The connection's states, one behaviour each:
//
//	disconnected --dialNow--> connecting --dialed ok--> connected <--> blocked
//	     ^  ^                     |                         |            |
//	     |  +------dialed err-----+                         |            |
//	     +---------------------------connLost---------------+------------+
//
// failed is disconnected after a permanent error: the row says failed and
// the next dial waits the maximum delay (or never comes, after MaxAttempts).

func (c *connection) disconnected(ctx actor.Context) {
	if m, ok := ctx.Message().(*dialNow); ok && m.gen == c.gen {
		c.startDial()
		c.setState(registry.Connecting, "")
		c.behavior.Become(c.connecting)
	}
}

func (c *connection) connecting(ctx actor.Context) {
	m, ok := ctx.Message().(*dialed)
	if !ok {
		return
	}
	if m.err != nil {
		c.dialFailed(m.err)
		return
	}
	c.sess = m.res
	c.tries = 0
	c.row.Attempts = 0
	c.row.LastError = ""
	c.row.ChannelMax = int(m.res.conn.Config.ChannelMax)
	c.row.FrameMax = m.res.conn.Config.FrameSize
	c.row.Heartbeat = m.res.conn.Config.Heartbeat
	c.row.Product, c.row.Version = m.res.serverInfo()
	c.watch(m.res)
	// Assignments first: a reader that sees the row available can ask for a
	// channel at once.
	c.send(c.env.PID(AssignmentsName), &brokerUp{broker: c.spec.ID, zone: c.spec.Zone, conn: c.self, channels: m.res.prechannels})
	m.res.prechannels = nil
	c.setState(registry.Connected, "")
	c.log.Info("connected", "took", m.took, "channel_max", c.row.ChannelMax, "heartbeat", c.row.Heartbeat)
	c.behavior.Become(c.connected)
}

func (c *connection) dialFailed(err error) {
	msg := redact.Error(err)
	st, delay := registry.Disconnected, c.backoff.Delay(c.tries)
	if Permanent(err) {
		st, delay = registry.Failed, c.backoff.Max
	}
	if c.backoff.MaxAttempts > 0 && c.tries >= c.backoff.MaxAttempts {
		c.stopTimer()
		msg = fmt.Sprintf("%v after %d attempts: %s", ErrGaveUp, c.tries, msg)
		c.log.Error("giving up", "attempts", c.tries, "err", msg)
		c.setState(registry.Failed, msg)
		c.behavior.Become(c.disconnected)
		return
	}
	c.scheduleDial(delay)
	if st == registry.Failed {
		c.log.Error("dial failed; retrying at the maximum delay", "attempt", c.tries, "next", delay, "err", msg)
	} else {
		c.log.Warn("dial failed", "attempt", c.tries, "next", delay, "err", msg)
	}
	c.setState(st, msg)
	c.behavior.Become(c.disconnected)
}

func (c *connection) connected(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *connBlocked:
		if m.active {
			c.log.Warn("broker blocked the connection", "reason", m.reason)
			c.row.LastError = "blocked: " + m.reason
			c.setState(registry.Blocked, "")
			c.behavior.BecomeStacked(c.blocked)
		}
	case *connLost:
		c.lost(m.err)
	}
}

func (c *connection) blocked(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *connBlocked:
		if !m.active {
			c.log.Info("broker unblocked the connection")
			c.row.LastError = ""
			c.setState(registry.Connected, "")
			c.behavior.UnbecomeStacked()
		}
	case *connLost:
		c.lost(m.err)
	}
}

// lost handles the end of a live session: a network error, a missed
// heartbeat, a broker shutdown (320), or nil when closed without a reason.
func (c *connection) lost(err *amqp.Error) {
	var why error = errors.New("connection closed")
	if err != nil {
		why = err
	}
	c.teardown(why)
	c.tries = 0
	delay := c.backoff.Delay(1)
	c.scheduleDial(delay)
	c.log.Warn("connection lost", "err", redact.Error(why), "next", delay)
	c.setState(registry.Disconnected, redact.Error(why))
	c.behavior.Become(c.disconnected)
}
