package nullbroker

import "fmt"

// AMQP 0-9-1 reply codes, as RabbitMQ uses them. Codes below 400 are not
// errors; 4xx codes close a channel ("soft" errors); 5xx codes and 320 close
// the whole connection ("hard" errors).
const (
	ReplySuccess       = 200
	ContentTooLarge    = 311
	NoRoute            = 312
	NoConsumers        = 313
	ConnectionForced   = 320
	InvalidPath        = 402
	AccessRefused      = 403
	NotFound           = 404
	ResourceLocked     = 405
	PreconditionFailed = 406
	FrameError         = 501
	SyntaxError        = 502
	CommandInvalid     = 503
	ChannelError       = 504
	UnexpectedFrame    = 505
	ResourceError      = 506
	NotAllowed         = 530
	NotImplemented     = 540
	InternalError      = 541
)

// replyNames are the upper-case names RabbitMQ puts in front of a reply text,
// as in "NOT_FOUND - no queue 'q' in vhost '/'".
var replyNames = map[int]string{
	ReplySuccess:       "OK",
	ContentTooLarge:    "CONTENT_TOO_LARGE",
	NoRoute:            "NO_ROUTE",
	NoConsumers:        "NO_CONSUMERS",
	ConnectionForced:   "CONNECTION_FORCED",
	InvalidPath:        "INVALID_PATH",
	AccessRefused:      "ACCESS_REFUSED",
	NotFound:           "NOT_FOUND",
	ResourceLocked:     "RESOURCE_LOCKED",
	PreconditionFailed: "PRECONDITION_FAILED",
	FrameError:         "FRAME_ERROR",
	SyntaxError:        "SYNTAX_ERROR",
	CommandInvalid:     "COMMAND_INVALID",
	ChannelError:       "CHANNEL_ERROR",
	UnexpectedFrame:    "UNEXPECTED_FRAME",
	ResourceError:      "RESOURCE_ERROR",
	NotAllowed:         "NOT_ALLOWED",
	NotImplemented:     "NOT_IMPLEMENTED",
	InternalError:      "INTERNAL_ERROR",
}

// replyText formats a reply text the way RabbitMQ does: the code's name, a
// dash, the explanation.
func replyText(code int, format string, args ...any) string {
	name := replyNames[code]
	if name == "" {
		name = fmt.Sprint(code)
	}
	return name + " - " + fmt.Sprintf(format, args...)
}

// isHardError reports whether code closes the connection rather than the
// channel it occurred on.
func isHardError(code int) bool { return code == ConnectionForced || code >= 500 }

// amqpError is a protocol exception raised while handling a method. The
// handler that raises it does not say whether it is a channel or connection
// exception: that follows from the code. The dispatcher fills in the class
// and method of the offending method.
type amqpError struct {
	code     int
	text     string // full reply text, with the code's name in front
	classID  uint16
	methodID uint16
}

func (e *amqpError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

// newError returns a protocol exception with a RabbitMQ-style reply text.
func newError(code int, format string, args ...any) *amqpError {
	return &amqpError{code: code, text: replyText(code, format, args...)}
}

// Helpers for the exceptions raised most often, with RabbitMQ's wording.

func errNoExchange(name, vhost string) *amqpError {
	return newError(NotFound, "no exchange '%s' in vhost '%s'", name, vhost)
}

func errNoQueue(name, vhost string) *amqpError {
	return newError(NotFound, "no queue '%s' in vhost '%s'", name, vhost)
}

func errLocked(name, vhost string) *amqpError {
	return newError(ResourceLocked, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
		"It could be originally declared on another connection or the exclusive property value does not match "+
		"that of the original declaration.", name, vhost)
}

func errInequivalent(arg, kind, name, vhost string, received, current any) *amqpError {
	return newError(PreconditionFailed, "inequivalent arg '%s' for %s '%s' in vhost '%s': received '%v' but current is '%v'",
		arg, kind, name, vhost, received, current)
}

func errDefaultExchange() *amqpError {
	return newError(AccessRefused, "operation not permitted on the default exchange")
}

// errSyntax reports method arguments that could not be decoded.
func errSyntax(err error) *amqpError {
	return newError(SyntaxError, "%v", err)
}
