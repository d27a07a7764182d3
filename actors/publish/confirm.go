package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
)

// A confirmed publish waits for the broker's confirm from its caller's
// goroutine (Publish, Pending.Wait). When the channel it was written on
// closes before the ack, the broker may or may not have routed it: it is
// written again (resent), with the same MessageId, and that confirm waited
// for, so that confirmed publishing is at-least-once.

// await waits for the broker's confirm of w: within ctx and, when ctx has
// no earlier deadline, ConfirmTimeout from since (zero: now), checked on
// every tick of the pool's clock (a per-call timer costs more than the rest
// of the wait). A publish whose channel closed before the ack is written
// again (resend) and its confirm waited for, until one of those ends. It
// counts the wait on the lane it waits on (in flight, and the time to an
// ack) and reports it to the tree's observer.
func (p *Pool) await(ctx context.Context, w written, r *publishRequest, exchange, key string, since time.Time) error {
	var o *actors.Observer
	if env := p.env.Load(); env != nil {
		o = env.Observe
	}
	if o != nil && o.ConfirmWait == nil {
		o = nil
	}
	start := since
	if start.IsZero() {
		start = time.Now()
	}
	if o != nil {
		o.ConfirmWait(1, 0, "")
	}
	var err, lost error
	for resends := 0; ; {
		w.l.awaiting.Add(1)
		var lostNow error
		lostNow, err = p.awaitConfirm(ctx, w, r, start)
		w.l.awaiting.Add(-1)
		w.st.c.confirmEnded()
		if lostNow == nil {
			if err != nil && resends > 0 && errors.Is(err, ErrNotConfirmed) {
				err = fmt.Errorf("%w (resent %d times, the last after: %v)", err, resends, lost)
			}
			break
		}
		lost, resends = lostNow, resends+1
		last := w.l
		if w, err = p.resend(ctx, exchange, key, r, start, resends, lost); err != nil {
			last.unconfirmed.Add(1)
			break
		}
	}
	took := time.Since(start)
	if err == nil {
		w.l.confirmNanos.Add(uint64(took))
	}
	if o == nil {
		return err
	}
	outcome := "acked"
	switch {
	case err == nil:
	case errors.Is(err, ErrNacked):
		outcome = "nacked"
	case errors.Is(err, ErrReturned):
		outcome = "returned"
	default:
		outcome = "unconfirmed"
	}
	o.ConfirmWait(-1, took, outcome)
	return err
}

// ResentHeader is the header a confirmed publish written again carries
// (int32: how many times it was resent); its MessageId is the first
// write's.
const ResentHeader = "x-warren-resent"

// resend writes r again, the n-th time, after its channel closed before the
// ack (lost says how): with the same MessageId and the header ResentHeader,
// through write (waiting for a usable channel as a first publish does),
// within ctx and ConfirmTimeout from start. Its error is ErrNotConfirmed
// naming lost and why no write went out.
func (p *Pool) resend(ctx context.Context, exchange, key string, r *publishRequest, start time.Time, n int, lost error) (written, error) {
	limit := start.Add(p.cfg.ConfirmTimeout)
	if !time.Now().Before(limit) {
		return written{}, fmt.Errorf("%w: %w; no confirm within %v", ErrNotConfirmed, lost, p.cfg.ConfirmTimeout)
	}
	wctx := ctx
	if dl, ok := ctx.Deadline(); !ok || dl.After(limit) {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, limit)
		defer cancel()
	}
	again := *r
	h := make(amqp.Table, len(r.msg.Headers)+1) // the caller's table is never changed
	maps.Copy(h, r.msg.Headers)
	h[ResentHeader] = int32(n)
	again.msg.Headers = h
	w, err := p.write(wctx, exchange, key, &again)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			err = fmt.Errorf("no confirm within %v: %w", p.cfg.ConfirmTimeout, err)
		}
		return written{}, fmt.Errorf("%w: %w; resend %d: %w", ErrNotConfirmed, lost, n, err)
	}
	w.l.resent.Add(1)
	return w, nil
}

// awaitConfirm waits for the confirm of one write of r. It returns lost,
// naming why, when the write's channel closed before the broker's ack (the
// caller resends), else the publish's outcome.
func (p *Pool) awaitConfirm(ctx context.Context, w written, r *publishRequest, since time.Time) (lost, err error) {
	l, st, dc := w.l, w.st, w.dc
	done := false
	select {
	case <-dc.Done(): // already confirmed (the oldest of a window, often): no four-way select
		done = true
	default:
	}
	var started time.Time
	if !done {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > p.cfg.ConfirmTimeout {
			started = since
		}
	}
	for !done {
		var tick <-chan struct{}
		if !started.IsZero() {
			tick = *p.clock.Load()
		}
		select {
		case <-dc.Done():
			done = true
		case <-ctx.Done():
			p.unconfirmed(l, st, r)
			return nil, fmt.Errorf("%w: %w (no confirm on channel %s %v after the write)", ErrNotConfirmed, ctx.Err(),
				st.c.id, time.Since(since).Round(time.Millisecond))
		case <-p.stop:
			p.unconfirmed(l, st, r)
			return nil, fmt.Errorf("%w: %w", ErrNotConfirmed, ErrStopped)
		case <-tick:
			if time.Since(started) > p.cfg.ConfirmTimeout {
				p.unconfirmed(l, st, r)
				return nil, fmt.Errorf("%w: no confirm within %v (channel %s)", ErrNotConfirmed, p.cfg.ConfirmTimeout, st.c.id)
			}
		}
	}
	var ret amqp.Return
	returned := false
	if r.mandatory {
		ret, returned = l.settle(st.c.returns, r.msg.MessageId)
	}
	if !dc.Acked() {
		// Closing a channel nacks every publish still pending on it.
		if st.c.ch.IsClosed() {
			why := st.c.closeReason()
			if why == nil {
				return errChannelClosed, nil // closed by Warren (moved, recycled): resent
			}
			if err, resend := p.sizeRefused(why, len(r.msg.Body)); err != nil {
				l.unconfirmed.Add(1)
				return nil, err // this publish was over the broker's max_message_size
			} else if resend {
				return fmt.Errorf("channel closed by another publish over the broker's max_message_size: %w", why), nil
			}
			if err, resend := userRefused(why, r.msg.UserId); err != nil {
				l.unconfirmed.Add(1)
				return nil, err // this publish's user id was refused
			} else if resend {
				return fmt.Errorf("channel closed by another publish's user id: %w", why), nil
			}
			if why.Recover {
				// A channel error (406 PRECONDITION_FAILED, 404, 403): a
				// publish on the channel was refused, maybe this one,
				// which would close the next channel too. Not resent.
				l.unconfirmed.Add(1)
				return nil, fmt.Errorf("%w: channel closed before the broker's ack: %w", ErrNotConfirmed, why)
			}
			// Its connection closed (320 CONNECTION_FORCED, a node
			// stopping) or was lost: resent.
			return fmt.Errorf("channel closed before the broker's ack: %w", why), nil
		}
		l.nacked.Add(1)
		if st.c.nacked() {
			st.c.recycle()
		}
		return nil, ErrNacked
	}
	st.c.nacks.Store(0)
	p.confirmedSize(len(r.msg.Body))
	if returned {
		return nil, &ReturnedError{MessageID: r.msg.MessageId, Code: ret.ReplyCode, Text: ret.ReplyText}
	}
	l.confirmed.Add(1)
	return nil, nil
}

var errChannelClosed = errors.New("channel closed before the broker's ack")

// unconfirmed ends a confirm wait that gave up.
func (p *Pool) unconfirmed(l *publisherLane, st *laneState, r *publishRequest) {
	if r.mandatory {
		l.settle(st.c.returns, r.msg.MessageId)
	}
	l.unconfirmed.Add(1)
}
