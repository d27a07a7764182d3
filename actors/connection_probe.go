package actors

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Between two dials of a broker that is down, a connection probes its
// port with a bare TCP connect every probeEvery (jittered): the moment the
// port accepts, it dials, after a short random delay so that many nodes do
// not all dial at once. A broker restarted while a connection waits out a
// 5 s backoff is noticed within a fraction of a second, and the backoff
// still spaces the AMQP handshakes a refusing or half-up broker gets. No
// probe runs after a permanent error (refused credentials wait the maximum
// delay) or once the dial is due anyway.
const (
	probeEvery   = 50 * time.Millisecond // each wait is in [probeEvery/2, probeEvery·1.5)
	probeTimeout = 250 * time.Millisecond
	probeSpread  = 25 * time.Millisecond // dial within [0, probeSpread) of the port opening
)

// probeAddr is the host:port a connection dials ("" when the URI does not
// parse, which plan has refused already).
func probeAddr(uri string) string {
	u, err := amqp.ParseURI(uri)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
}

// probe runs until ctx ends or addr accepts a TCP connection; then it
// calls ready, once.
func probe(ctx context.Context, addr string, ready func()) {
	var d net.Dialer
	for {
		wait := probeEvery/2 + rand.N(probeEvery)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		conn, err := d.DialContext(pctx, "tcp", addr)
		cancel()
		if err != nil {
			continue
		}
		conn.Close()
		t = time.NewTimer(rand.N(probeSpread))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			ready()
			return
		}
	}
}
