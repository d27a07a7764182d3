package publish

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The broker's max_message_size. RabbitMQ closes a channel (406
// PRECONDITION_FAILED "message size S is larger than configured max size
// N") on a publish whose body is larger, and discards what was written on
// the channel after it: a fire-and-forget publish over the limit would take
// the publishes written after it on the same channel with it, none of them
// told. The pool keeps that to the oversized publish:
//
//   - a fire-and-forget publish larger than any body the broker confirmed
//     so far (and than probeFloor) is written as a confirmed publish and
//     its confirm waited for: the broker's 406 fails it with ErrTooLarge,
//     the confirmed publishes in flight on that channel are resent, and
//     once acked its size is known good;
//   - the limit read from the 406 becomes the pool's MaxMessageSize: a
//     later publish over it fails at once with ErrTooLarge;
//   - a plain channel the broker closed with an error is counted
//     (PlainClosed) and logged with the fire-and-forget writes that went
//     out on it (when the broker's limit is below probeFloor).

// probeFloor is the body size up to which fire-and-forget publishes are
// written on the plain channel without a probe: RabbitMQ's limit is far
// above it unless deliberately lowered there.
const probeFloor = 16 << 10

// maxSizeText matches RabbitMQ's reason for a message over its limit.
var maxSizeText = regexp.MustCompile(`larger than configured max size (\d+)`)

// brokerMaxSize returns the limit named by err, a channel close of RabbitMQ
// refusing a message over its max_message_size.
func brokerMaxSize(err error) (int, bool) {
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		return 0, false
	}
	m := maxSizeText.FindStringSubmatch(ae.Reason)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// maxSize is the largest body a publish may carry now: the spec's, or the
// broker's once a 406 told it.
func (p *Pool) maxSize() int { return int(p.limit.Load()) }

// learnMaxSize lowers the pool's limit to the broker's n (read from a 406),
// and reports whether it changed.
func (p *Pool) learnMaxSize(n int) bool {
	for {
		cur := p.limit.Load()
		if int64(n) >= cur {
			return false
		}
		if p.limit.CompareAndSwap(cur, int64(n)) {
			for { // no size over the limit is known good
				g := p.good.Load()
				if g <= int64(n) || p.good.CompareAndSwap(g, int64(n)) {
					return true
				}
			}
		}
	}
}

// confirmedSize records that the broker acked a body of n bytes.
func (p *Pool) confirmedSize(n int) {
	for {
		g := p.good.Load()
		if int64(n) <= g || p.good.CompareAndSwap(g, int64(n)) {
			return
		}
	}
}

// probes reports whether a fire-and-forget publish of n bytes is written as
// a confirmed one (see probeFloor).
func (p *Pool) probes(n int) bool { return int64(n) > p.good.Load() }

// tooLarge is the error of a publish of n bytes over the limit.
func (p *Pool) tooLarge(n int) error {
	limit := p.maxSize()
	if p.learned.Load() {
		return fmt.Errorf("%w: %d bytes, the broker's max_message_size is %d", ErrTooLarge, n, limit)
	}
	return fmt.Errorf("%w: %d bytes, the maximum is %d", ErrTooLarge, n, limit)
}

// sizeRefused handles the close of a confirm-mode channel by a 406 naming
// the broker's limit: it returns the error of the publish of n bytes when it
// was the one over the limit, and resend when it was another one.
func (p *Pool) sizeRefused(why *amqp.Error, n int) (err error, resend bool) {
	limit, ok := brokerMaxSize(why)
	if !ok {
		return nil, false
	}
	p.learnMaxSize(limit)
	p.learned.Store(true)
	if n > limit {
		return fmt.Errorf("%w: %d bytes, the broker's max_message_size is %d (%s)", ErrTooLarge, n, limit, why.Reason), false
	}
	return nil, true
}
