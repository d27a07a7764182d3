package publish

import (
	"fmt"
	"regexp"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The user-id property (UserID). RabbitMQ closes a channel (406
// PRECONDITION_FAILED "user_id property set to 'X' but authenticated user
// was 'Y'") on a publish whose user id is not its connection's user, and
// discards what was written on the channel after it, as for a body over its
// max_message_size (size.go). The pool keeps that to the publish at fault:
//
//   - a publish with a user id is written confirmed (a fire-and-forget one
//     too, whose confirm is then waited for): the broker's 406 fails it with
//     ErrUserRefused and its reason;
//   - the other confirmed publishes in flight on that channel are resent:
//     the reason names the user id refused, which is not theirs.

// userText matches RabbitMQ's reason for a user id it refuses.
var userText = regexp.MustCompile(`user_id property set to '(.*)' but authenticated user was '`)

// userRefused handles the close of a confirm-mode channel by RabbitMQ
// refusing a user id: it returns the error of a publish with userID when
// that is the one refused, and resend when another publish's was.
func userRefused(why *amqp.Error, userID string) (err error, resend bool) {
	if why.Code != amqp.PreconditionFailed {
		return nil, false
	}
	m := userText.FindStringSubmatch(why.Reason)
	if m == nil {
		return nil, false
	}
	if userID != "" && userID == m[1] {
		return fmt.Errorf("%w: %w", ErrUserRefused, why), false
	}
	return nil, true
}
