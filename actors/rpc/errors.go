package rpc

import (
	"errors"
	"fmt"

	"github.com/warrenmq/warren/actors/kazoo"
)

var (
	// ErrCallTimeout is returned when no (or not enough) replies arrived in
	// time. CallCollect returns it with the replies it did collect.
	ErrCallTimeout = errors.New("warren: call timed out waiting for replies")
	// ErrStopped is returned when the tree runs no RPC workers.
	ErrStopped = errors.New("warren: no RPC workers running")
	// ErrUnroutable is wrapped by the error of a call whose request the
	// broker returned (basic.return, 312 NO_ROUTE): no queue is bound to
	// its exchange with its routing key. Requests are published mandatory,
	// so such a call fails at once instead of waiting out its deadline,
	// as Kazoo's kz_amqp_worker matches a basic.return to its caller.
	ErrUnroutable = errors.New("warren: request unroutable")
	// ErrNegativeReply is matched by a [*NegativeError]: a Call whose
	// replies failed Request.Validate.
	ErrNegativeReply = errors.New("warren: negative reply")
)

// CallError reports a call that could not be made.
type CallError struct {
	MsgID string
	Op    string
	Err   error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("warren: call %s: %s: %v", e.MsgID, e.Op, e.Err)
}
func (e *CallError) Unwrap() error { return e.Err }

// NegativeError is returned by a Call whose replies failed its
// Request.Validate (Kazoo's {error, JObj}): at once when Count reached the
// call's negative threshold (Err is ErrNegativeReply), or at its deadline
// when fewer came and no valid reply did (Err wraps ErrCallTimeout).
// Reply is the last negative reply. errors.Is(err, ErrNegativeReply)
// holds for both.
type NegativeError struct {
	MsgID string
	Count int
	Reply kazoo.Envelope
	Err   error
}

func (e *NegativeError) Error() string {
	return fmt.Sprintf("warren: call %s: %d negative replies (last %s): %v", e.MsgID, e.Count, e.Reply.Name(), e.Err)
}

// Is reports whether target is ErrNegativeReply.
func (e *NegativeError) Is(target error) bool { return target == ErrNegativeReply }

func (e *NegativeError) Unwrap() error { return e.Err }
