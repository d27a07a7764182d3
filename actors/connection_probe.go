package actors

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// When a dial's TCP connect was refused (nothing listens on the port: the
// broker is down or restarting), the connection probes the port with a bare
// TCP connect while it waits out its backoff: every probeEvery (jittered)
// for the first probeFastFor of the outage (a restart, the common case),
// then every probeSlowEvery (a node down for maintenance is not knocked on
// 50 times a second). The moment the port accepts, it dials, after a short
// random delay so that many nodes do not all dial at once. A broker
// restarted while a connection waits out a 5 s backoff is noticed within
// tens of milliseconds. The
// probe never shortens any other wait: after a dial that got a TCP
// connection and failed later (TLS to a plain port, a handshake refused or
// unanswered, a load balancer whose backend is down) the port accepts at
// once, and the probe would turn the backoff into a redial loop (330–361
// dials in 11–12 s before Warren told the two apart); nor after a permanent
// error, a connect that timed out, or a lost session. See [dialEvent].
const (
	probeEvery     = 20 * time.Millisecond  // each wait is in [probeEvery/2, probeEvery·1.5)
	probeFastFor   = 10 * time.Second       // of an outage probed at probeEvery, from the connection's going down
	probeSlowEvery = 250 * time.Millisecond // after that, likewise jittered
	probeTimeout   = 250 * time.Millisecond
	probeSpread    = 10 * time.Millisecond // dial within [0, probeSpread) of the port opening
)

// probeWait is the jittered wait before the next probe, the connection
// down for so long already.
func probeWait(down time.Duration) time.Duration {
	every := probeEvery
	if down >= probeFastFor {
		every = probeSlowEvery
	}
	return every/2 + rand.N(every)
}

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
// calls ready, once. down is when the connection went down.
func probe(ctx context.Context, addr string, down time.Time, ready func()) {
	var d net.Dialer
	for {
		t := time.NewTimer(probeWait(time.Since(down)))
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
