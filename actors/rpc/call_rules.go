package rpc

import (
	"github.com/warrenmq/warren/actors/kazoo"
)

// callRules decides, reply by reply, what a Call does with what comes:
// Kazoo's kz_amqp_worker rules. A reply Validate refuses is a negative
// one; at threshold negatives the call fails. A valid reply carrying
// Defer-Response: true is held in case a better one comes; a valid reply
// without it answers the call. Pure: the caller does the waiting.
//
// Owner: the calling goroutine.
type callRules struct {
	validate  func(kazoo.Envelope) bool // nil: every reply is valid
	threshold int

	negatives int
	negative  kazoo.Envelope // the last negative reply
	deferred  kazoo.Envelope // the last valid reply with Defer-Response: true
}

// verdict is what a Call does after a reply.
type verdict int

const (
	waitMore       verdict = iota // keep waiting
	answerNow                     // return callRules.answer
	negativeEnough                // fail with the negatives
)

// take judges one reply of the call.
func (c *callRules) take(env kazoo.Envelope) verdict {
	if c.validate != nil && !c.validate(env) {
		c.negatives++
		c.negative = env
		if c.negatives < c.threshold {
			return waitMore
		}
		if c.deferred != nil { // the held reply is valid: it beats giving up
			return answerNow
		}
		return negativeEnough
	}
	if deferResponse(env) {
		c.deferred = env
		return waitMore
	}
	c.deferred = env
	return answerNow
}

// answer is the reply a call returns: the valid one that ended it, or at
// its deadline the one held; nil when it has none.
func (c *callRules) answer() kazoo.Envelope { return c.deferred }

// negativeError is the error of a call that got negative replies and no
// valid one: err says why it ended (ErrNegativeReply at the threshold, a
// timeout at its deadline). Nil when none was negative.
func (c *callRules) negativeError(msgID string, err error) error {
	if c.negatives == 0 {
		return nil
	}
	return &NegativeError{MsgID: msgID, Count: c.negatives, Reply: c.negative, Err: err}
}

// deferResponse reports whether a reply asks to be held until the call's
// deadline (Defer-Response true, as kz_json:is_true reads it: the JSON
// boolean or the string "true").
func deferResponse(env kazoo.Envelope) bool {
	return env.Text(kazoo.HeaderDeferResponse) == "true"
}
