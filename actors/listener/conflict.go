package listener

import (
	"errors"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// conflictHint says how to fix a declare the broker refused with 406
// PRECONDITION_FAILED because the exchange or queue exists with other
// flags or arguments ("inequivalent arg 'durable' for exchange 'x'"), or
// "" for any other error. Retrying cannot change such a refusal (only
// someone deleting the exchange or queue, or the spec changing), so the
// listener says failed at once, with this hint, instead of after
// maxReplayFailures refusals.
func conflictHint(err error) string {
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed || !strings.Contains(ae.Reason, "inequivalent arg") {
		return ""
	}
	if name, ok := quotedAfter(ae.Reason, "for exchange '"); ok {
		return "exchange " + name + " exists with other flags (type/durable): give the Binding the same Kind and " +
			"Durable (AutoDelete, Internal), or Declare false to bind to it as it is"
	}
	if name, ok := quotedAfter(ae.Reason, "for queue '"); ok {
		return "queue " + name + " exists with other flags or arguments: give the QueueSpec the same Durable, " +
			"AutoDelete, Exclusive and Args, or delete the queue"
	}
	return ""
}

// quotedAfter returns the text between prefix and the next quote in s.
func quotedAfter(s, prefix string) (string, bool) {
	_, rest, ok := strings.Cut(s, prefix)
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, "'")
	return name, ok
}
