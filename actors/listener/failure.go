package listener

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Failure policy defaults.
const (
	// DefaultRetryAttempts is how many times a handler runs on one delivery
	// before it fails for good: most handler errors are transient (a
	// database or a downstream service blipping), and two more runs a few
	// hundred milliseconds later ride them out without holding a worker
	// slot for long.
	DefaultRetryAttempts = 3
	// DefaultRetryBackoff is the wait before the second run; it doubles
	// for each further run (jittered, so the runs of many deliveries that
	// failed together do not hit the same dependency in step): long
	// enough for a pool to reconnect, short enough that the slot it holds
	// is soon free again.
	DefaultRetryBackoff = 100 * time.Millisecond
	// DefaultRetryMaxBackoff caps the wait between two runs: the worker
	// slot is held while it waits, so a long wait starves the queue;
	// what needs longer is better requeued or dead-lettered.
	DefaultRetryMaxBackoff = 2 * time.Second
	// DefaultMaxRedeliveries is how many times OnError Requeue lets the
	// broker redeliver a message before it is dead-lettered: one requeue
	// gives another instance (another node, a fresh process) a chance,
	// without looping.
	DefaultMaxRedeliveries = 1
)

// RetryPolicy runs a failed handler again on the same delivery, on the same
// goroutine (its worker slot held), after a jittered exponential backoff.
// The wait ends when the listener stops; a panic is never retried.
type RetryPolicy struct {
	// Attempts is how many runs in all; 1 turns retries off. Defaults to
	// DefaultRetryAttempts.
	Attempts int
	// Backoff is the wait before the second run, doubled for each next
	// one, between half and all of it at random. Defaults to
	// DefaultRetryBackoff.
	Backoff time.Duration
	// MaxBackoff caps the wait. Defaults to DefaultRetryMaxBackoff.
	MaxBackoff time.Duration
	// MaxRedeliveries bounds OnError Requeue: a delivery the broker has
	// redelivered that many times already is dead-lettered instead. The
	// count is the x-delivery-count header of a redelivered message where
	// the broker sets one (quorum queues); elsewhere a delivery marked
	// Redelivered counts as past the bound, whatever it is (a classic
	// queue does not say how many times). Defaults to
	// DefaultMaxRedeliveries.
	MaxRedeliveries int
}

// ErrorPolicy says what becomes of a delivery whose handler failed for good.
type ErrorPolicy int

const (
	// DeadLetter publishes the message, with x-warren-* headers saying
	// why, to the queue's dead-letter exchange when QueueSpec.Args names
	// one (x-dead-letter-exchange), else to the error queue
	// "<queue>_error"; it is acked once the broker confirmed that publish
	// and requeued if it did not. The default.
	DeadLetter ErrorPolicy = iota
	// Requeue nacks the delivery with requeue, for another run after the
	// broker redelivers it, unless it was redelivered
	// RetryPolicy.MaxRedeliveries times already: then it is dead-lettered.
	Requeue
	// Discard nacks without requeue (Kazoo's way; a malformed payload is
	// rejected): the broker drops the message, or dead-letters it itself
	// when the queue has a dead-letter exchange.
	Discard
)

func (p ErrorPolicy) String() string {
	switch p {
	case Requeue:
		return "requeue"
	case Discard:
		return "discard"
	default:
		return "dead_letter"
	}
}

// normalizeFailure validates and fills the failure policy and dedup spec.
func (s *Spec) normalizeFailure() error {
	r := &s.Retry
	if r.Attempts < 0 || r.Backoff < 0 || r.MaxBackoff < 0 || r.MaxRedeliveries < 0 {
		return fmt.Errorf("warren: listener %s: retry %+v: negative values", s.Name, *r)
	}
	if r.Attempts == 0 {
		r.Attempts = DefaultRetryAttempts
	}
	if r.Backoff == 0 {
		r.Backoff = DefaultRetryBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = max(DefaultRetryMaxBackoff, r.Backoff)
	}
	if r.MaxBackoff < r.Backoff {
		return fmt.Errorf("warren: listener %s: retry backoff %v above its max %v", s.Name, r.Backoff, r.MaxBackoff)
	}
	if r.MaxRedeliveries == 0 {
		r.MaxRedeliveries = DefaultMaxRedeliveries
	}
	if s.OnError < DeadLetter || s.OnError > Discard {
		return fmt.Errorf("warren: listener %s: unknown error policy %d", s.Name, s.OnError)
	}
	if s.Dedup.Window < 0 || s.Dedup.Entries < 0 {
		return fmt.Errorf("warren: listener %s: dedup %+v: negative values", s.Name, s.Dedup)
	}
	if s.Dedup.Window > 0 && s.Dedup.Entries == 0 {
		s.Dedup.Entries = DefaultDedupEntries
	}
	return nil
}

// backoff is the jittered wait after run n (1-based) failed.
func (r RetryPolicy) backoff(n int) time.Duration {
	d := r.Backoff << min(n-1, 30)
	if d > r.MaxBackoff || d <= 0 {
		d = r.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// handlerCtx is the context the handlers run under (and retry waits end
// with): cancelled when the listener stops.
// A drain cancels it at its deadline (hcancel).
func (s *listenerShared) handlerCtx() context.Context { return s.hctx }

// stopping reports whether the listener is being stopped or drained: a
// failure then is most likely the stop's doing, not the message's, and the
// next consumer retries it.
func (s *listenerShared) stopping(hctx context.Context) bool {
	return s.ctx.Err() != nil || hctx.Err() != nil || s.draining()
}

// run calls h on del up to Retry.Attempts times while it fails (not for a
// panic, not once the listener stops or the delivery's channel is gone),
// and returns the last outcome and how many runs there were.
func (s *listenerShared) run(hctx context.Context, h Handler, del *Delivery, gen uint64) (err error, panicked bool, runs int) {
	retry := s.warrenSettles()
	for {
		runs++
		err, panicked = s.call(hctx, h, del, runs)
		if err == nil || panicked || !retry || del.settled() || runs >= s.spec.Retry.Attempts || s.stopping(hctx) || gen != s.current().gen {
			return err, panicked, runs
		}
		s.logFailure(del, err, runs, "retry")
		s.counter.retried.Add(1)
		t := time.NewTimer(s.spec.Retry.backoff(runs))
		select {
		case <-t.C:
		case <-hctx.Done():
			t.Stop()
			return err, panicked, runs
		case <-s.drainStarted: // a drain gives the message back rather than wait
			t.Stop()
			return err, panicked, runs
		}
	}
}

// logFailure logs a failed run at a bounded rate; next says what follows.
func (s *listenerShared) logFailure(del *Delivery, err error, runs int, next string) {
	cat, name := "", ""
	if del.Envelope != nil {
		cat, name = del.Envelope.Text(s.spec.EventKey), del.Envelope.Text(s.spec.EventSubkey)
	}
	s.logs.failures().Warn(s.log, "handler failed", withTraceID(del, "queue", del.Queue, "category", cat, "name", name, "routing_key", del.RoutingKey,
		"attempt", runs, "of", s.spec.Retry.Attempts, "then", next, "err", errText(err))...)
}

// failed settles a delivery whose handler failed for good, per OnError.
func (s *listenerShared) failed(hctx context.Context, d amqp.Delivery, del *Delivery, gen uint64, err error, panicked bool, runs int) {
	if !s.warrenSettles() {
		if !panicked { // a panic is logged with its stack by call
			s.logFailure(del, err, runs, "nothing: acked already")
		}
		return
	}
	switch {
	case s.stopping(hctx):
		// The listener is stopping: its handler's failure is most likely
		// the stop's, and the broker hands the message to the next one.
		s.nack(d, gen, true)
	case s.spec.OnError == Discard:
		if !panicked {
			s.logFailure(del, err, runs, "discard")
		}
		s.nack(d, gen, false)
	case s.spec.OnError == Requeue && !panicked && !redeliveredEnough(d, s.spec.Retry.MaxRedeliveries):
		s.logFailure(del, err, runs, "requeue")
		s.nack(d, gen, true)
	default:
		if !panicked {
			s.logFailure(del, err, runs, "dead-letter")
		}
		s.deadLetter(hctx, d, gen, err, runs)
	}
}

// redeliveredEnough reports whether d has been redelivered max times: a
// first delivery never has; a redelivered one by its x-delivery-count header
// when it has one (quorum queues), else at once.
func redeliveredEnough(d amqp.Delivery, max int) bool {
	if !d.Redelivered {
		return false
	}
	switch n := d.Headers["x-delivery-count"].(type) {
	case int64:
		return n >= int64(max)
	case int32:
		return int64(n) >= int64(max)
	case int16:
		return int64(n) >= int64(max)
	case int8:
		return int64(n) >= int64(max)
	case int:
		return n >= max
	case uint8:
		return int(n) >= max
	case uint16:
		return int(n) >= max
	case uint32:
		return int64(n) >= int64(max)
	}
	return true
}
