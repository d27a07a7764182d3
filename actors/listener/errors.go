package listener

import (
	"errors"

	"github.com/warrenmq/warren/internal/redact"
)

// Errors of run-time binding changes (AddBinding, RemoveBinding). Each is
// wrapped with the listener's name ("warren: listener <name>: …"), so test
// for them with errors.Is.
var (
	// ErrNoExchange is returned for a binding without an exchange: the
	// default exchange needs no binding.
	ErrNoExchange = errors.New("binding needs an exchange")
	// ErrNoBinding is returned by a RemoveBinding of a binding the
	// listener does not have.
	ErrNoBinding = errors.New("no binding")
)

// BindingError reports a run-time binding change that the broker did not
// apply. Err is the broker's (often *amqp.Error): errors.Is(err,
// amqp.ErrClosed) and errors.As(err, **amqp.Error) see through it; its
// text is redacted in Error.
type BindingError struct {
	Listener string  // the listener's name
	Op       string  // "bind" or "unbind"
	Binding  Binding // the binding changed
	// Retried is set for an unbind the next replay applies again (the
	// queue outlives its channel, so the binding may still be there).
	Retried bool
	Err     error
}

func (e *BindingError) Error() string {
	retried := ""
	if e.Retried {
		retried = " (retried on the next channel)"
	}
	return "warren: listener " + e.Listener + ": " + e.Op + " " + e.Binding.String() + retried + ": " + redact.Error(e.Err)
}

func (e *BindingError) Unwrap() error { return e.Err }
