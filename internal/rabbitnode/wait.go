package rabbitnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// pollInterval is the pause between two checks of a condition that offers nothing to wait on
// (a port, a process state).
const pollInterval = 50 * time.Millisecond

// readyDialTimeout bounds one readiness handshake; a frozen node would otherwise hold it.
const readyDialTimeout = 2 * time.Second

// WaitPortOpen waits until the node's AMQP port accepts TCP connections or ctx is done.
func (n *Node) WaitPortOpen(ctx context.Context) error {
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, readyDialTimeout)
		c, err := d.DialContext(dctx, "tcp", n.Addr())
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		if err := pause(ctx, nil); err != nil {
			return fmt.Errorf("rabbitnode: %s not open: %w", n.Addr(), err)
		}
	}
}

// WaitPortClosed waits until the node's AMQP port refuses connections or ctx is done.
func (n *Node) WaitPortClosed(ctx context.Context) error { return waitPortClosed(ctx, n.Addr()) }

// WaitReady waits until an AMQP handshake as guest succeeds on the node's AMQP port (and its AMQPS
// port, with WithTLS), until the node's process exits, or until ctx is done.
func (n *Node) WaitReady(ctx context.Context) error { return n.waitReady(ctx, n.current()) }

// waitReady is WaitReady for run p of the node (nil: any run).
func (n *Node) waitReady(ctx context.Context, p *nodeProcess) error {
	var exited <-chan struct{} // nil: never
	if p != nil {
		exited = p.exited
	}
	var tlsConfig *tls.Config
	if n.opts.tls != nil {
		tlsConfig = n.opts.tls.ClientTLSConfig()
	}
	for {
		err := handshake(ctx, n.URI(), nil)
		if err == nil && tlsConfig != nil {
			err = handshake(ctx, n.TLSURI(), tlsConfig)
		}
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w (last attempt: %v)", p.exitError(), err)
		default:
		}
		if p != nil && p.bootFailed() {
			return fmt.Errorf("rabbitnode: node logged %q (last attempt: %v)", bootFailedMarker, err)
		}
		if perr := pause(ctx, exited); perr != nil {
			if p != nil && p.hasExited() {
				return fmt.Errorf("%w (last attempt: %v)", p.exitError(), err)
			}
			return fmt.Errorf("%w (last attempt: %v)", perr, err)
		}
	}
}

// handshake opens and closes one AMQP connection to uri.
func handshake(ctx context.Context, uri string, tlsConfig *tls.Config) error {
	timeout := readyDialTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), 10*time.Millisecond)
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("warren-it-readiness")
	conn, err := amqp.DialConfig(uri, amqp.Config{
		Dial:            amqp.DefaultDial(timeout),
		TLSClientConfig: tlsConfig,
		Properties:      props,
	})
	if err != nil {
		return err
	}
	return conn.Close()
}

// waitPortClosed waits until addr refuses connections; "" is closed.
func waitPortClosed(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, readyDialTimeout)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
		} else if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		if err := pause(ctx, nil); err != nil {
			return fmt.Errorf("%s still open: %w", addr, err)
		}
	}
}

// waitGone waits until none of pids is alive.
func waitGone(ctx context.Context, pids []int) error {
	for _, pid := range pids {
		for Alive(pid) {
			if err := pause(ctx, nil); err != nil {
				return fmt.Errorf("process %d still alive: %w", pid, err)
			}
		}
	}
	return nil
}

// pause waits pollInterval, returning early with an error when ctx is done and with nil when
// wake is closed.
func pause(ctx context.Context, wake <-chan struct{}) error {
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
		return nil
	case <-timer.C:
		return nil
	}
}

// distAddr is the node's Erlang distribution address.
func (n *Node) distAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.DistPort)) }
