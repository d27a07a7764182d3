package actors

import (
	"sort"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/registry"
)

// The placement rules of the assignments actor, as pure functions over
// plain values: which broker a consumer's channel comes from, who gets a
// fresh channel, what happens to each consumer when a broker goes down or
// up, when a channel exception arrives and when a channel closes. The actor
// (assignments.go) builds the values, calls these and carries out the
// result; the rules are table-tested without a broker or an actor.

// brokerSlot is what placement knows of a broker.
type brokerSlot struct {
	ID, Zone string // ID is the connection id (see ConnID)
	Role     registry.ConnRole
	Up       bool
	// Draining: the broker is being drained (DrainBroker): floats take
	// none of its channels while another broker of their zone is up.
	Draining bool
}

// consumerSlot is what placement knows of a consumer.
type consumerSlot struct {
	Key    string // the consumer's actor path
	Type   registry.ChannelType
	Role   registry.ConnRole // the connection it wants: consume or publish
	Zone   string            // zone of a float (and of a sticky's broker)
	Sticky string            // connection of a sticky consumer
	Want   string            // broker whose next channel is meant for it; "" for a float waiting on its zone
	Held   string            // broker of the channel it holds; "" while waiting
	Paused bool              // waiting out a channel-exception backoff: not placed, not counted
	Seq    uint64            // arrival order; the oldest waiter is served first
	// CanMove: it understands moves (RequestChannel.CanMove).
	CanMove bool
	// Moving: it holds a channel (Held) of a draining broker and waits for
	// one on another broker of its zone, which it gets as a move.
	Moving bool
}

// waiting reports whether c waits for a channel: it holds none, or it is
// moving off a draining broker; a paused consumer does not wait yet.
func (c consumerSlot) waiting() bool { return (c.Held == "" || c.Moving) && !c.Paused }

// pickBroker chooses the connection of c's next channel: its own for a
// sticky consumer (when up, drained or not: it has no other); for a float
// the primary of its zone and role — the up connection with the smallest
// id — other than avoid (the one that just went down or is being drained),
// skipping draining connections while another one is up. It returns ""
// when none fits: the consumer waits.
func pickBroker(c consumerSlot, brokers []brokerSlot, avoid string) string {
	if c.Type == registry.Sticky {
		for _, b := range brokers {
			if b.ID == c.Sticky && b.Up {
				return b.ID
			}
		}
		return ""
	}
	best, drained := "", ""
	for _, b := range brokers {
		if !b.Up || b.Zone != c.Zone || b.Role != c.Role || b.ID == avoid {
			continue
		}
		if b.Draining {
			if drained == "" || b.ID < drained {
				drained = b.ID
			}
		} else if best == "" || b.ID < best {
			best = b.ID
		}
	}
	if best == "" {
		return drained
	}
	return best
}

// otherUp reports whether a broker of b's zone and role other than b is up
// and not draining.
func otherUp(brokers []brokerSlot, b brokerSlot) bool {
	for _, o := range brokers {
		if o.ID != b.ID && o.Up && !o.Draining && o.Zone == b.Zone && o.Role == b.Role {
			return true
		}
	}
	return false
}

// drainRefusal returns the zone of the first of conns (the connections of
// one broker) with no other broker of its zone and role up and not
// draining, or "" when the broker may be drained: its floats have
// somewhere to go. conns unknown to brokers are skipped.
func drainRefusal(brokers []brokerSlot, conns []string) string {
	for _, id := range conns {
		for _, b := range brokers {
			if b.ID == id && !otherUp(brokers, b) {
				return b.Zone
			}
		}
	}
	return ""
}

// wantsChannelOf reports whether waiting consumer c takes a fresh channel
// of broker b: it waits for b, or it is a float of b's zone waiting for any
// broker of it and b is not draining.
func wantsChannelOf(c consumerSlot, b brokerSlot) bool {
	return c.waiting() && (c.Want == b.ID || (c.Type != registry.Sticky && c.Want == "" && c.Zone == b.Zone && c.Role == b.Role && !b.Draining))
}

// nextWaiter returns the index of the oldest consumer that takes a fresh
// channel of b, or -1 when none does (the channel goes to b's pool).
func nextWaiter(consumers []consumerSlot, b brokerSlot) int {
	best := -1
	for i, c := range consumers {
		if wantsChannelOf(c, b) && (best < 0 || c.Seq < consumers[best].Seq) {
			best = i
		}
	}
	return best
}

// channelsToAsk returns how many channels to ask broker for: one per
// consumer waiting for it, plus what its pool of prechannels lacks (pooled
// of target), less those already on their way.
func channelsToAsk(consumers []consumerSlot, broker string, opening, pooled, target int) int {
	n := 0
	for _, c := range consumers {
		if c.waiting() && c.Want == broker {
			n++
		}
	}
	return max(0, n+max(0, target-pooled)-opening)
}

// surplus reports whether a fresh channel nobody waits for is one too many
// for its broker's pool of pooled channels (of target).
func surplus(pooled, target int) bool { return pooled >= target }

// wantOnUp returns the keys of the floats that wait on b's zone with no
// broker in mind: b is now theirs. A draining b is theirs only while no
// other broker of the zone (in brokers) is up, and never a moving
// consumer's: it is moving off a draining broker.
func wantOnUp(consumers []consumerSlot, b brokerSlot, brokers []brokerSlot) []string {
	if b.Draining && otherUp(brokers, b) {
		return nil
	}
	var keys []string
	for _, c := range consumers {
		if c.waiting() && c.Want == "" && c.Type != registry.Sticky && c.Zone == b.Zone && c.Role == b.Role && !(b.Draining && c.Moving) {
			keys = append(keys, c.Key)
		}
	}
	return keys
}

// drainAction is what draining a broker does to one consumer.
type drainAction uint8

const (
	drainMove    drainAction = iota // a CanMove float holding a channel there: moves (it keeps the old one meanwhile)
	drainLose                       // a float without CanMove holding one: ChannelLost, then a channel elsewhere
	drainReplace                    // a float waiting for one of its channels: looks elsewhere
)

// drainStep is what happens to one consumer when its broker is drained.
type drainStep struct {
	Key string
	Do  drainAction
}

// movesOnDrain returns, oldest first, the consumers draining broker
// touches: the floats holding one of its channels move (CanMove) or lose
// it; floats waiting for it look elsewhere. Stickies stay: they have
// nowhere else to go. A float already moving off it is left alone.
func movesOnDrain(consumers []consumerSlot, broker string) []drainStep {
	var hit []consumerSlot
	for _, c := range consumers {
		if c.Type == registry.Sticky {
			continue
		}
		if (c.Held == broker && !c.Moving) || (c.waiting() && c.Want == broker) {
			hit = append(hit, c)
		}
	}
	sort.Slice(hit, func(i, j int) bool { return hit[i].Seq < hit[j].Seq })
	out := make([]drainStep, len(hit))
	for i, c := range hit {
		do := drainReplace
		switch {
		case c.Held == broker && c.CanMove:
			do = drainMove
		case c.Held == broker:
			do = drainLose
		}
		out[i] = drainStep{Key: c.Key, Do: do}
	}
	return out
}

// downMove is what happens to one consumer when its broker goes down.
type downMove struct {
	Key  string
	Lose bool // it held a channel of the broker: tell it ChannelLost first
}

// movesOnDown returns, oldest first, the consumers a broker going down
// touches: those holding one of its channels lose it; floats waiting for it
// look for another broker of their zone. Stickies waiting for it keep
// waiting for it, untouched.
func movesOnDown(consumers []consumerSlot, broker string) []downMove {
	var moved []consumerSlot
	for _, c := range consumers {
		if c.Held == broker || (c.waiting() && c.Want == broker && c.Type != registry.Sticky) {
			moved = append(moved, c)
		}
	}
	sort.Slice(moved, func(i, j int) bool { return moved[i].Seq < moved[j].Seq })
	out := make([]downMove, len(moved))
	for i, c := range moved {
		out[i] = downMove{Key: c.Key, Lose: c.Held == broker}
	}
	return out
}

// Channel-exception backoff: a consumer whose channels keep dying of channel
// exceptions (a queue declared with other arguments, say) gets its next
// channel after a growing delay instead of in a tight loop. Kazoo waits a
// flat 30s (SERVER_RETRY_PERIOD).
const (
	exceptionWindow   = 30 * time.Second
	exceptionFirst    = 100 * time.Millisecond
	exceptionMaxDelay = 30 * time.Second
)

// exceptionRetry counts a channel exception of a consumer whose previous
// one (count of them in a row) was at last; it returns the new count and
// how long the consumer waits before its next channel (0: at once). The
// count starts again after exceptionWindow without one.
func exceptionRetry(count int, last, now time.Time) (int, time.Duration) {
	if now.Sub(last) > exceptionWindow {
		count = 0
	}
	count++
	if count == 1 {
		return count, 0
	}
	return count, min(exceptionFirst<<min(count-2, 10), exceptionMaxDelay)
}

// closeVerdict says what a channel's close means.
type closeVerdict uint8

const (
	closeIgnored    closeVerdict = iota // released, or its broker already went down
	closePrechannel                     // an unassigned channel of a pool: drop it
	closeBroker                         // a connection-level error: the whole broker is gone
	closeException                      // a channel exception: replace that consumer's channel
)

// classifyClose tells what the close of a channel means: known is whether
// the actor still tracks it, owned whether a consumer holds it, err its
// close reason (nil for a graceful close).
func classifyClose(known, owned bool, err *amqp.Error) closeVerdict {
	switch {
	case !known:
		return closeIgnored
	case !owned:
		return closePrechannel
	case err != nil && !channelException(err):
		return closeBroker
	default:
		return closeException
	}
}
