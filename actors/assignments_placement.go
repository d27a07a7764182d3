package actors

import (
	"slices"
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
	// Broker is the broker id of the connection (BrokerOf(ID) when empty):
	// a broker may have several consuming connections.
	Broker string
	// Channels counts the channels of the connection: held, pooled and
	// being opened. Floats and stickies take the connection of their
	// broker with the fewest.
	Channels int
	// Full: its channel_max is used up (its last ask failed for it).
	Full bool
	// Hidden brokers serve consumers that name them (by broker or tag) only.
	Hidden bool
	Tags   []string // the broker's tags
}

// broker returns the broker id of b's connection.
func (b brokerSlot) broker() string {
	if b.Broker != "" {
		return b.Broker
	}
	return BrokerOf(b.ID)
}

// hasTag reports whether b's broker carries tag.
func (b brokerSlot) hasTag(tag string) bool { return slices.Contains(b.Tags, tag) }

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
	// Tag: it asked for a broker of its zone with that tag
	// (RequestChannel.Tag), hidden or not.
	Tag string
}

// roams reports whether c may take a channel on any fitting broker of its
// zone (a float, or a sticky that named a tag and no broker), rather than
// on the one broker it named.
func (c consumerSlot) roams() bool {
	return c.Type != registry.Sticky || (c.Sticky == "" && c.Tag != "")
}

// fits reports whether connection b may carry c's channel, up or not: a
// connection of the broker c named, or for a roaming consumer one of its
// zone and role carrying its tag (when it asked for one) and not hidden
// (unless it asked for a tag).
func fits(c consumerSlot, b brokerSlot) bool {
	if !c.roams() { // c.Sticky is a connection id: it holds the role
		return b.ID == c.Sticky || (b.Role == registry.Consume && b.Role == c.Role && b.broker() == c.Sticky)
	}
	if b.Role != c.Role {
		return false
	}
	if b.Zone != c.Zone {
		return false
	}
	if c.Tag != "" {
		return b.hasTag(c.Tag)
	}
	return !b.Hidden
}

// better reports whether connection a is a better pick than b among the
// connections of one broker: one with channels left first, then the one
// with the fewest channels, then the smallest id.
func better(a, b brokerSlot) bool {
	if a.Full != b.Full {
		return !a.Full
	}
	if a.Channels != b.Channels {
		return a.Channels < b.Channels
	}
	return a.ID < b.ID
}

// waiting reports whether c waits for a channel: it holds none, or it is
// moving off a draining broker; a paused consumer does not wait yet.
func (c consumerSlot) waiting() bool { return (c.Held == "" || c.Moving) && !c.Paused }

// pickBroker chooses the connection of c's next channel. For a consumer
// that named its broker (a sticky), one of that broker's connections that
// is up, drained or not (it has no other). For a roaming one, the primary
// broker of its zone and role — the up broker with the smallest id —
// fitting it (fits) other than connection avoid (the one that just went
// down or is being drained), skipping draining brokers while another one
// is up. Among the connections of the broker it takes one with channels
// left, the fewest first, so that floats spread over a broker's
// connections and a consumer past one connection's channel_max gets a
// channel on another. It returns "" when none fits: the consumer waits.
func pickBroker(c consumerSlot, brokers []brokerSlot, avoid string) string {
	if !c.roams() {
		best := -1
		for i, b := range brokers {
			if b.Up && fits(c, b) && (best < 0 || better(b, brokers[best])) {
				best = i
			}
		}
		if best < 0 {
			return ""
		}
		return brokers[best].ID
	}
	primary, drained := "", ""
	for _, b := range brokers {
		if !b.Up || !fits(c, b) || b.ID == avoid {
			continue
		}
		if b.Draining {
			if drained == "" || b.broker() < drained {
				drained = b.broker()
			}
		} else if primary == "" || b.broker() < primary {
			primary = b.broker()
		}
	}
	fallback := primary == ""
	if fallback {
		primary = drained
	}
	best := -1
	for i, b := range brokers {
		if b.Up && fits(c, b) && b.ID != avoid && b.broker() == primary && b.Draining == fallback &&
			(best < 0 || better(b, brokers[best])) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return brokers[best].ID
}

// siblingsFull reports whether every up connection of b's broker and role
// (b among them) has its channel_max used up: the broker needs another
// connection for the consumers waiting on it.
func siblingsFull(brokers []brokerSlot, b brokerSlot) bool {
	for _, o := range brokers {
		if o.Up && !o.Full && o.Role == b.Role && o.broker() == b.broker() {
			return false
		}
	}
	return true
}

// otherUp reports whether a broker of b's zone and role other than b's is
// up, not hidden and not draining: floats have somewhere else to go.
func otherUp(brokers []brokerSlot, b brokerSlot) bool {
	for _, o := range brokers {
		if o.broker() != b.broker() && o.Up && !o.Draining && !o.Hidden && o.Zone == b.Zone && o.Role == b.Role {
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
	return c.waiting() && (c.Want == b.ID || (c.roams() && c.Want == "" && fits(c, b) && !b.Draining))
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
	return channelsFor(n, opening, pooled, target)
}

// channelsFor is channelsToAsk for a broker that waiting consumers wait
// for: the actor counts them in its waiting index.
func channelsFor(waiting, opening, pooled, target int) int {
	return max(0, waiting+max(0, target-pooled)-opening)
}

// surplus reports whether a fresh channel nobody waits for is one too many
// for its broker's pool of pooled channels (of target).
func surplus(pooled, target int) bool { return pooled >= target }

// wantOnUp returns the keys of the consumers that wait and that b, just
// up, is now for: the roaming ones of b's zone fitting it (fits) with no
// broker in mind, and those waiting for another connection of b's broker
// that is down or has no channel left (b has room, being new). A draining
// b is for the roaming ones only while no other broker of the zone (in
// brokers) is up, and never a moving consumer's: it is moving off a
// draining broker.
func wantOnUp(consumers []consumerSlot, b brokerSlot, brokers []brokerSlot) []string {
	stuck := map[string]bool{} // other connections of b's broker with no channel to give
	for _, o := range brokers {
		if o.ID != b.ID && o.broker() == b.broker() && o.Role == b.Role && (!o.Up || o.Full) {
			stuck[o.ID] = true
		}
	}
	floats := !(b.Draining && otherUp(brokers, b))
	var keys []string
	for _, c := range consumers {
		if !c.waiting() || !fits(c, b) {
			continue
		}
		if stuck[c.Want] || (floats && c.Want == "" && c.roams() && !(b.Draining && c.Moving)) {
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
		if !c.roams() {
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
