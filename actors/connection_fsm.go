package actors

import (
	"errors"
	"syscall"

	"github.com/warrenmq/warren/registry"
)

// The connection's state machine, as a pure function: [connFSM.next] takes
// the state and one event and returns the next state with the actions the
// connection actor carries out (connection.go). Nothing here touches the
// network, a timer or an actor, so every transition is table-tested.
//
//	disconnected --evDial--> connecting --evDialed--> connected <--> blocked
//	     ^  ^                   |                        |              |
//	     |  +--evDialFailed-----+                        |              |
//	     |  +--evPortClosed-----+                        |              |
//	     |  +--evDialRefused--> failed                   |              |
//	     +-------------------------evLost----------------+--------------+
//
// failed is disconnected after a permanent error (refused credentials, a
// missing vhost, an untrusted certificate): the next dial waits the
// maximum delay, or never comes once MaxAttempts dials failed. evStop ends
// any state: the live session, if any, is torn down.
//
// Every failed dial counts (Tries) and waits Backoff.Delay(Tries), whatever
// stage failed. Only a wait that began with a refused TCP connect
// (evPortClosed: nothing listens on the port) has the port probed
// meanwhile (actProbe), so that a broker coming back is dialled at once; a
// dial that got a TCP connection and failed later (TLS to a plain port, a
// handshake refused or unanswered, a load balancer whose backend is down)
// waits its whole delay, as the probe would connect at once. [dialEvent]
// tells the events apart from the dial's error and the stage it failed at.

// connEvent is what happens to a connection.
type connEvent uint8

const (
	evDial         connEvent = iota // the scheduled dial is due
	evDialed                        // a dial succeeded
	evDialFailed                    // a dial failed; retrying may help (not a refused TCP connect)
	evPortClosed                    // a dial's TCP connect was refused: nothing listens on the port yet
	evDialRefused                   // a dial failed permanently (see Permanent)
	evBlocked                       // the broker blocked publishing (connection.blocked)
	evUnblocked                     // the broker lifted the block
	evLost                          // the live session ended
	evStop                          // the actor stops or restarts
	connEventCount                  // number of events, for tests
)

var connEventNames = [...]string{"dial", "dialed", "dial failed", "port closed", "dial refused", "blocked", "unblocked", "lost", "stop"}

func (e connEvent) String() string {
	if int(e) < len(connEventNames) {
		return connEventNames[e]
	}
	return "unknown"
}

// connAction is a set of things the actor must do, in the order the
// constants are declared.
type connAction uint16

const (
	actTeardown   connAction = 1 << iota // drop the live session: brokerDown to assignments, close it
	actCancelDial                        // cancel a pending dial timer
	actDial                              // start a dial (Tries was counted)
	actAdopt                             // adopt the new session: reset the error, watch it, brokerUp
	actRetry                             // schedule the next dial after Backoff.Delay(Tries)
	actRetryMax                          // schedule the next dial after the (jittered) maximum delay
	actRetryFirst                        // schedule the next dial after Backoff.Delay(1): a live session was lost
	actProbe                             // probe the port while the retry waits: dial as soon as it accepts
	actGiveUp                            // stop dialling: MaxAttempts dials failed
	actReport                            // report the row (state or attempts changed)
)

// has reports whether a holds every action of b.
func (a connAction) has(b connAction) bool { return a&b == b }

// connFSM is the pure state of one connection.
type connFSM struct {
	State       registry.ConnState
	Tries       int // dial attempts since the last successful connect
	MaxAttempts int // dial attempts before giving up; 0 dials forever
	GaveUp      bool
}

// next returns the state after ev and the actions to carry out. An event
// that means nothing in the current state (a late unblock, a dial tick
// while connected) changes nothing and asks for nothing.
func (f connFSM) next(ev connEvent) (connFSM, connAction) {
	if ev == evStop {
		return connFSM{State: registry.Disconnected, MaxAttempts: f.MaxAttempts, Tries: f.Tries, GaveUp: f.GaveUp},
			actTeardown | actCancelDial
	}
	switch f.State {
	case registry.Disconnected, registry.Failed:
		if ev == evDial && !f.GaveUp {
			f.State, f.Tries = registry.Connecting, f.Tries+1
			return f, actCancelDial | actDial | actReport
		}
	case registry.Connecting:
		switch ev {
		case evDialed:
			f.State, f.Tries = registry.Connected, 0
			return f, actAdopt | actReport
		case evDialFailed, evPortClosed, evDialRefused:
			f.State = registry.Disconnected
			if ev == evDialRefused {
				f.State = registry.Failed
			}
			if f.MaxAttempts > 0 && f.Tries >= f.MaxAttempts {
				f.State, f.GaveUp = registry.Failed, true
				return f, actGiveUp | actReport
			}
			switch ev {
			case evDialRefused:
				return f, actRetryMax | actReport
			case evPortClosed:
				return f, actRetry | actProbe | actReport
			}
			return f, actRetry | actReport
		}
	case registry.Connected, registry.Blocked:
		switch {
		case ev == evBlocked && f.State == registry.Connected:
			f.State = registry.Blocked
			return f, actReport
		case ev == evUnblocked && f.State == registry.Blocked:
			f.State = registry.Connected
			return f, actReport
		case ev == evLost:
			f.State, f.Tries = registry.Disconnected, 0
			return f, actTeardown | actRetryFirst | actReport
		}
	}
	return f, 0
}

// dialStage is how far a failed dial got.
type dialStage uint8

const (
	stageConnect   dialStage = iota // the TCP connect (and the name lookup before it)
	stageHandshake                  // the TLS and AMQP handshakes, on a TCP connection that was made
	stageSetup                      // the control channel, exchanges and prechannels of an open AMQP connection
)

var dialStageNames = [...]string{"connect", "handshake", "setup"}

func (s dialStage) String() string {
	if int(s) < len(dialStageNames) {
		return dialStageNames[s]
	}
	return "unknown"
}

// dialEvent is the event a dial's result makes: evDialed when err is nil,
// evDialRefused for a permanent error (see Permanent), evPortClosed when
// the TCP connect itself was refused (ECONNREFUSED), else evDialFailed —
// a connect that timed out or found no route, and every failure after the
// TCP connection was made.
func dialEvent(err error, stage dialStage) connEvent {
	switch {
	case err == nil:
		return evDialed
	case Permanent(err):
		return evDialRefused
	case stage == stageConnect && errors.Is(err, syscall.ECONNREFUSED):
		return evPortClosed
	default:
		return evDialFailed
	}
}
