package supervisor

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// The admin server's limits: what a client that holds connections open,
// sends slowly or reads slowly can cost.
const (
	// DefaultAdminMaxConns caps the connections [Tree.ServeAdmin] holds
	// open at once; see [WithAdminMaxConns].
	DefaultAdminMaxConns = 128

	// DefaultAdminMaxStreams caps the observer's event streams
	// (GET /ui/events) open at once; see [WithAdminMaxStreams].
	DefaultAdminMaxStreams = 32

	// AdminReadHeaderTimeout bounds the read of a request's headers.
	AdminReadHeaderTimeout = 5 * time.Second

	// AdminReadTimeout bounds the read of a whole request (a write's body
	// is at most AdminMaxBody).
	AdminReadTimeout = 10 * time.Second

	// AdminWriteTimeout bounds the write of an answer. An event stream
	// has no such bound as a whole: each of its events must be written
	// within uiWriteTimeout.
	AdminWriteTimeout = 30 * time.Second

	// AdminIdleTimeout is how long a keep-alive connection may wait for
	// its next request.
	AdminIdleTimeout = 30 * time.Second

	// adminMaxHeaderBytes bounds a request's headers: room for the
	// cookies a browser sends to localhost, far from net/http's 1 MB.
	adminMaxHeaderBytes = 64 << 10
)

// AdminOption changes how [Tree.ServeAdmin] serves.
type AdminOption func(*adminOptions) error

// adminOptions are ServeAdmin's settings.
type adminOptions struct {
	allowHosts []string // lower case, without a port
	maxConns   int
	maxStreams int
	token      string          // "" until given: ServeAdmin generates one
	until      <-chan struct{} // WithAdminUntil's ctx.Done(); nil: the tree's lifetime
}

func defaultAdminOptions() adminOptions {
	return adminOptions{maxConns: DefaultAdminMaxConns, maxStreams: DefaultAdminMaxStreams}
}

// WithAdminAllowHosts adds host names that requests may name in their Host
// header, for a server reached through a name of its own (a DNS name, a
// proxy's). Each is a host name or IP, with or without a port (the port is
// not checked). Besides these, a request may name the host of the bound
// address, localhost, or any IP literal; anything else is answered 421, so
// that a web page cannot read the API through a name it resolves to this
// host (DNS rebinding). Defaults to none.
func WithAdminAllowHosts(names ...string) AdminOption {
	return func(o *adminOptions) error {
		for _, name := range names {
			host, err := adminHostName(name)
			if err != nil {
				return fmt.Errorf("warren: admin API: allowed host %q: %w", adminClip(name, 64), err)
			}
			o.allowHosts = append(o.allowHosts, host)
		}
		return nil
	}
}

// WithAdminUntil stops the admin server when ctx ends, if the tree has not
// stopped it first: for a service that serves the admin API for a part of
// the tree's life only. The stop is logged at Info. Defaults to none: the
// server stops with the tree.
func WithAdminUntil(ctx context.Context) AdminOption {
	return func(o *adminOptions) error {
		if ctx == nil {
			return fmt.Errorf("warren: admin API: WithAdminUntil: nil context")
		}
		o.until = ctx.Done()
		return nil
	}
}

// WithAdminMaxConns caps the connections the admin server holds open. When
// a new connection arrives at the cap, the connection idle the longest
// (between two requests, or before its first) is closed to make room; when
// every connection is busy, the new one is closed at once. Either is logged
// as a warning, at most every adminCapWarnEvery. n must exceed the stream
// cap. Defaults to [DefaultAdminMaxConns].
func WithAdminMaxConns(n int) AdminOption {
	return func(o *adminOptions) error {
		if n < 1 {
			return fmt.Errorf("warren: admin API: connection cap %d: need at least 1", n)
		}
		o.maxConns = n
		return nil
	}
}

// WithAdminMaxStreams caps the observer's event streams (GET /ui/events)
// open at once; one past the cap is answered 503 with a Retry-After. Every
// stream sends the same snapshots, computed once per change of the tables.
// Defaults to [DefaultAdminMaxStreams].
func WithAdminMaxStreams(n int) AdminOption {
	return func(o *adminOptions) error {
		if n < 1 {
			return fmt.Errorf("warren: admin API: stream cap %d: need at least 1", n)
		}
		o.maxStreams = n
		return nil
	}
}

// adminHostName returns name's host, lower case, without a port or a
// trailing dot.
func adminHostName(name string) (string, error) {
	host := name
	if h, _, err := net.SplitHostPort(name); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return "", fmt.Errorf("empty")
	}
	if net.ParseIP(host) != nil {
		return host, nil
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("not a host name")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("not a host name")
			}
		}
	}
	return host, nil
}

// adminClip returns s cut to at most n bytes, with "…" when it was cut.
func adminClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
