package publish

import (
	"errors"
	"fmt"

	"github.com/warrenmq/warren/actors"
)

var (
	// ErrBufferFull is returned at once when a publish would have to wait
	// for a channel and the publish buffer already holds its maximum of
	// waiting publishes.
	ErrBufferFull = errors.New("warren: publish buffer full")
	// ErrNoChannel is returned when a publish waited its maximum (or its
	// ctx ended) with no usable channel: no broker of the zone was up.
	ErrNoChannel = errors.New("warren: no publish channel available")
	// ErrBlocked is returned when a publish waited its maximum (or its ctx
	// ended) while the broker blocked publishing (connection.blocked: a
	// memory or disk alarm).
	ErrBlocked = errors.New("warren: broker blocked publishing (connection.blocked)")
	// ErrNotConfirmed is returned by a confirmed publish whose outcome is
	// unknown: no ack came before its ctx ended, the pool's ConfirmTimeout
	// passed or the pool stopped (a publish whose channel closed before the
	// ack is written again meanwhile; the error names the last cause), or a
	// channel error (4xx) closed its channel. The broker may have the
	// message, maybe more than once.
	ErrNotConfirmed = errors.New("warren: publish not confirmed")
	// ErrNacked is returned by a confirmed publish the broker refused
	// (basic.nack: an internal error of the queue, or a queue with
	// x-overflow reject-publish that is full). After 20 nacks in a row
	// the publisher gives its channel up for a new one: a channel can stay
	// stuck nacking (RabbitMQ 3.10, a quorum queue whose leader died).
	ErrNacked = errors.New("warren: publish nacked by the broker")
	// ErrReturned matches every [*ReturnedError] with errors.Is.
	ErrReturned = errors.New("warren: publish returned by the broker")
	// ErrNoExchange is returned, to that caller only, by a publish to an
	// exchange the broker does not have (its 404 reason wrapped). Warren
	// checks each exchange once per connection, on the connection's control
	// channel, so that the 404 never closes a channel other callers publish on.
	ErrNoExchange = actors.ErrNoExchange
	// ErrTooLarge is returned at once by a publish whose body is larger than
	// Config.MaxMessageSize, or than the broker's max_message_size once
	// the pool learned it: the broker would close the channel (406) under
	// every caller publishing on it. The first publish over a broker's lower
	// limit gets it from the broker's 406 (see [Pool.Publish]).
	ErrTooLarge = errors.New("warren: message larger than the broker accepts")
	// ErrUserRefused is returned by a publish whose UserID the broker
	// refused (406: not the connection's user), its reason wrapped. Such a
	// publish is written confirmed, so that it fails alone (see [UserID]).
	ErrUserRefused = errors.New("warren: user id refused by the broker")
	// ErrStopped is returned by publishes after the tree stopped,
	// or when it has no publishers.
	ErrStopped = errors.New("warren: publishers stopped")
)

// Error reports a publish that failed; Err is one of the sentinels
// above (or a *ReturnedError, an *amqp.Error, a ctx error), possibly joined
// with the ctx error that ended a wait.
type Error struct {
	Exchange   string
	RoutingKey string
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (exchange %q, routing key %q)", e.Err.Error(), e.Exchange, e.RoutingKey)
}

func (e *Error) Unwrap() error { return e.Err }

// ReturnedError is returned by a confirmed, mandatory publish that the
// broker could not route to any queue (basic.return, usually 312
// NO_ROUTE). errors.Is(err, ErrReturned) holds for it.
type ReturnedError struct {
	MessageID string // the publish's MessageId, generated when the caller gave none
	Code      uint16 // reply code, e.g. 312
	Text      string // reply text, e.g. "NO_ROUTE"
}

func (e *ReturnedError) Error() string {
	return fmt.Sprintf("warren: publish returned by the broker: %d %s (message id %s)", e.Code, e.Text, e.MessageID)
}

// Is reports whether target is ErrReturned.
func (e *ReturnedError) Is(target error) bool { return target == ErrReturned }
