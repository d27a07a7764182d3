package actors

import (
	"math/rand/v2"
	"time"
)

// Default reconnect delays. Kazoo's kz_amqp_connection starts at 1.5s and
// caps at 5s for the local zone and 60s for remote zones, without jitter;
// Warren starts sooner (a restarted RabbitMQ accepts connections in about a
// second) and adds jitter so that many nodes do not redial in lockstep.
const (
	DefaultBackoffFirst     = 500 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultRemoteBackoffMax = 60 * time.Second
)

// Backoff computes exponential reconnect delays with jitter.
type Backoff struct {
	First       time.Duration // ceiling of the first delay; defaults to DefaultBackoffFirst
	Max         time.Duration // largest delay; defaults to DefaultBackoffMax (DefaultRemoteBackoffMax remotely)
	MaxAttempts int           // dial attempts before giving up; 0 retries forever
}

// Ceiling returns the upper bound of the delay before attempt n (n >= 1):
// First·2^(n-1), capped at Max.
func (b Backoff) Ceiling(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := b.First
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Delay returns the delay before attempt n, drawn uniformly from
// [First/2, Ceiling(n)] ("full jitter" with a floor, so that a run of small
// draws never turns into a tight redial loop).
func (b Backoff) Delay(n int) time.Duration {
	hi := b.Ceiling(n)
	lo := min(b.First/2, hi)
	if hi <= lo {
		return hi
	}
	return lo + rand.N(hi-lo+1)
}

// withDefaults fills zero fields; remote zones get the longer cap.
func (b Backoff) withDefaults(local bool) Backoff {
	if b.First <= 0 {
		b.First = DefaultBackoffFirst
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
		if !local {
			b.Max = DefaultRemoteBackoffMax
		}
	}
	if b.Max < b.First {
		b.Max = b.First
	}
	return b
}

// MaxDelay returns the delay after a permanent error: drawn from
// [Max/2, Max], so that nodes refused at once do not redial in lockstep.
func (b Backoff) MaxDelay() time.Duration {
	lo := b.Max / 2
	if lo <= 0 {
		return b.Max
	}
	return lo + rand.N(b.Max-lo+1)
}
