package bench

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	// killRate is the kill test's publish rate on the remote node.
	killRate = 200
	// killPublish is how long the kill test publishes before the kill,
	// and again once its publisher is back on the restarted node.
	killPublish = time.Second
	// killQuiet ends the wait for the kill test's last deliveries: once
	// no delivery came for that long, what has not arrived is lost.
	killQuiet = 5 * time.Second
)

// killResult is what the kill test counts.
type killResult struct {
	lost       int           // confirmed by the remote node, never delivered on the local one
	duplicated int           // deliveries past the first of a message
	resume     time.Duration // from the remote's port reopening to the first delivery after it
}

// killTest publishes killRate persistent messages a second, confirmed, to
// exchange on the remote node, kills it (SIGKILL) and starts it again
// while the publisher keeps trying (dropping what it cannot publish, as a
// client without a buffer would), then publishes for killPublish more and
// counts, on the local node, the confirmed messages lost, the duplicates
// and the time from the remote's port reopening to the first delivery.
func (r *fedRig) killTest(ctx context.Context, e *env, exchange string) (killResult, error) {
	t := r.begin(e)
	defer r.end()
	pub := &steadyPublisher{url: e.opts.URL, exchange: exchange, run: t.run, back: make(chan struct{}, 1)}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	confirmed := make(chan map[int64]bool, 1)
	go func() { confirmed <- pub.publish(pctx) }()

	if err := wait(ctx, killPublish); err != nil {
		return killResult{}, err
	}
	opened, err := e.restartNode(ctx)
	if err != nil {
		return killResult{}, err
	}
	if err := e.redialRaw(); err != nil {
		return killResult{}, err
	}
	select { // the publisher is back on the restarted node
	case <-pub.back:
	case <-time.After(time.Minute):
		return killResult{}, fmt.Errorf("the publisher did not reconnect to the remote node within a minute")
	case <-ctx.Done():
		return killResult{}, ctx.Err()
	}
	if err := wait(ctx, killPublish); err != nil {
		return killResult{}, err
	}
	stop()
	acked := <-confirmed
	if err := waitDelivered(ctx, t, acked); err != nil {
		return killResult{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var k killResult
	for seq := range acked {
		if !t.seen(seq) {
			k.lost++
		}
	}
	for _, n := range t.counts {
		k.duplicated += max(n-1, 0)
	}
	for _, at := range t.at {
		if at.After(opened) {
			k.resume = at.Sub(opened)
			break
		}
	}
	return k, nil
}

// waitDelivered waits until every message of acked reached the local
// node, or none arrived for killQuiet: what is missing then is lost.
func waitDelivered(ctx context.Context, t *tally, acked map[int64]bool) error {
	for {
		t.mu.Lock()
		all, changed := true, t.changed
		for seq := range acked {
			if !t.seen(seq) {
				all = false
				break
			}
		}
		t.mu.Unlock()
		if all {
			return nil
		}
		select {
		case <-changed:
		case <-time.After(killQuiet):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wait waits d, or until ctx ends: a phase's length, not a wait for a
// condition.
func wait(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// steadyPublisher publishes killRate messages a second to exchange on the
// broker of url, with confirms, through a kill of that broker: a publish
// that fails, or is not confirmed, is not sent again; while the broker is
// down it redials every 20 ms.
type steadyPublisher struct {
	url      string
	exchange string
	run      int64
	back     chan struct{} // signalled when it connected again after losing its connection
}

// publish publishes until ctx ends and returns the sequence numbers the
// broker confirmed.
func (p *steadyPublisher) publish(ctx context.Context) map[int64]bool {
	acked := map[int64]bool{}
	var (
		conn    *amqp.Connection
		ch      *amqp.Channel
		pending = map[int64]*amqp.DeferredConfirmation{}
		down    bool // the connection was lost: say so once back
		dialed  time.Time
	)
	settle := func(all bool) {
		for seq, dc := range pending {
			select {
			case <-dc.Done():
				if dc.Acked() {
					acked[seq] = true
				}
				delete(pending, seq)
			default:
				if all {
					delete(pending, seq) // its connection is gone: never confirmed
				}
			}
		}
	}
	drop := func() {
		if conn != nil {
			_ = conn.Close()
		}
		conn, ch, down = nil, nil, true
		settle(true)
	}
	tick := time.NewTicker(time.Second / killRate)
	defer tick.Stop()
	for seq := int64(0); ; {
		select {
		case <-ctx.Done():
			if ch != nil { // the last confirms, within a second
				wctx, cancel := context.WithTimeout(context.Background(), time.Second)
				for _, dc := range pending {
					_, _ = dc.WaitContext(wctx)
				}
				cancel()
			}
			settle(true)
			if conn != nil {
				_ = conn.Close()
			}
			return acked
		case <-tick.C:
		}
		if conn != nil && conn.IsClosed() {
			drop()
		}
		if conn == nil {
			if time.Since(dialed) < 20*time.Millisecond {
				continue
			}
			dialed = time.Now()
			c, err := amqp.DialConfig(p.url, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
			if err != nil {
				continue
			}
			if ch, err = c.Channel(); err == nil {
				err = ch.Confirm(false)
			}
			if err != nil {
				_ = c.Close()
				continue
			}
			conn = c
			if down {
				down = false
				select {
				case p.back <- struct{}{}:
				default:
				}
			}
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, p.exchange, "kill", false, false, fedPublishing(fedBody(p.run, seq)))
		seq++
		if err != nil {
			drop()
			continue
		}
		pending[seq-1] = dc
		settle(false)
	}
}
