package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/internal/redact"
)

// A publish to an exchange the broker lacks closes the channel it was
// written on (404), and with it every other caller's publishes (and calls)
// in flight on that channel. So, like Kazoo's kz_amqp_channel with its cache of declared
// exchanges, Warren checks each exchange once per connection before the
// first publish to it: a passive declare on the connection's control
// channel, where a 404 harms nobody. The first publish to an exchange pays
// that round trip; the others a map lookup.

const (
	// exchangeCheckTimeout bounds one check (the caller's ctx may end sooner).
	exchangeCheckTimeout = 5 * time.Second
	// missingExchangeTTL is how long a missing exchange is remembered
	// before the next publish to it checks again (it may be declared since).
	missingExchangeTTL = time.Second
	// maxCheckedExchanges bounds the cache; past it, it starts afresh.
	maxCheckedExchanges = 4096
)

// ErrNoExchange is returned, to that caller only, by a publish or a call to
// an exchange the broker does not have (its 404 reason wrapped).
var ErrNoExchange = errors.New("warren: no such exchange")

type exchangeKey struct {
	link   *Link // the connection: a new one checks again
	broker string
	name   string
}

type exchangeCheck struct {
	done    chan struct{} // closed when err is set
	err     error         // nil: the exchange exists
	expires time.Time     // for a missing exchange: when to check again
}

// ExchangeCache remembers the exchanges checked on each connection, for the
// publishers and the RPC workers. The zero value is ready; until SetEnv,
// every exchange counts as known.
type ExchangeCache struct {
	env  atomic.Pointer[Env]
	mu   sync.Mutex // serialises starting checks
	m    sync.Map   // exchangeKey -> *exchangeCheck
	size atomic.Int64
}

// always reports exchanges that need no check: the default exchange and
// the broker's own amq.* ones.
func always(name string) bool { return name == "" || strings.HasPrefix(name, "amq.") }

// SetEnv gives the cache the tree whose connection actors it asks (once;
// later calls change nothing).
func (c *ExchangeCache) SetEnv(env *Env) { c.env.CompareAndSwap(nil, env) }

// Known reports whether name was found on the connection conn (its id, see
// ConnID) whose socket is link.
func (c *ExchangeCache) Known(link *Link, conn, name string) bool {
	if always(name) || c.env.Load() == nil {
		return true
	}
	v, ok := c.m.Load(exchangeKey{link, conn, name})
	if !ok {
		return false
	}
	chk := v.(*exchangeCheck)
	select {
	case <-chk.done:
		return chk.err == nil
	default:
		return false
	}
}

// Check waits for the check of name on the connection conn, starting it
// unless one is running or remembered, and returns its outcome: nil when
// the exchange exists, ErrNoExchange with the broker's reason when it does
// not, another error when it could not be checked (not remembered).
func (c *ExchangeCache) Check(ctx context.Context, link *Link, conn, name string) error {
	if always(name) || c.env.Load() == nil {
		return nil
	}
	key := exchangeKey{link, conn, name}
	c.mu.Lock()
	var chk *exchangeCheck
	if v, ok := c.m.Load(key); ok {
		chk = v.(*exchangeCheck)
		select {
		case <-chk.done:
			if chk.err != nil && time.Now().After(chk.expires) {
				chk = nil // a missing exchange, remembered long enough
			}
		default:
		}
	}
	if chk == nil {
		if c.size.Add(1) > maxCheckedExchanges {
			c.m.Clear()
			c.size.Store(1)
		}
		chk = &exchangeCheck{done: make(chan struct{})}
		c.m.Store(key, chk)
		go c.run(key, chk)
	}
	c.mu.Unlock()
	select {
	case <-chk.done:
		return chk.err
	case <-ctx.Done():
		return fmt.Errorf("checking that exchange %q exists: %w", name, ctx.Err())
	}
}

// run asks the connection actor of key's broker for a passive declare.
func (c *ExchangeCache) run(key exchangeKey, chk *exchangeCheck) {
	env := c.env.Load()
	pid := env.System.NewLocalPID(RootName + "/" + ConnSupName + "/" + key.broker)
	req := &DeclareExchange{Exchange: Exchange{Name: key.name}, Passive: true}
	reply := make(chan error, 1)
	req.Reply = reply
	env.Send(pid, req)
	timer := time.NewTimer(exchangeCheckTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-reply:
	case <-timer.C: // the connection actor is gone or stuck
		err = fmt.Errorf("no answer within %v", exchangeCheckTimeout)
	case <-env.Stopping:
		err = errors.New("the tree is stopping")
	}
	var ae *amqp.Error
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Code == amqp.NotFound:
		chk.err = fmt.Errorf("%w: %q on broker %s: %s", ErrNoExchange, key.name, key.broker, ae.Reason)
		chk.expires = time.Now().Add(missingExchangeTTL)
	case errors.Is(err, ErrNotConnected): // the connection went down: not remembered
		chk.err = fmt.Errorf("checking that exchange %q exists on broker %s: %w", key.name, key.broker, ErrNotConnected)
		c.m.CompareAndDelete(key, chk)
	default: // not checked: not remembered
		chk.err = fmt.Errorf("checking that exchange %q exists on broker %s: %s", key.name, key.broker, redact.Error(err))
		c.m.CompareAndDelete(key, chk)
	}
	close(chk.done)
}
