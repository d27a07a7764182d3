package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

// envAdmin sets the default of --admin.
const envAdmin = "WARREN_ADMIN"

// adminTimeout bounds one request to the admin API.
const adminTimeout = 10 * time.Second

// addAdminFlag adds --admin, the admin API's address, to cmd.
func addAdminFlag(cmd *cobra.Command, usage string) {
	cmd.Flags().String("admin", supervisor.DefaultAdminAddr, usage+" (or $"+envAdmin+")")
}

// adminAddr returns --admin, else $WARREN_ADMIN, else the default.
func (a *app) adminAddr(cmd *cobra.Command) string {
	f := cmd.Flags().Lookup("admin")
	if f.Changed {
		return f.Value.String()
	}
	if v := a.getenv(envAdmin); v != "" {
		return v
	}
	return f.Value.String()
}

// adminClient reads a running tree's admin API.
type adminClient struct {
	addr string // as the user gave it, for messages
	base string // http://host:port
	http *http.Client
}

// adminClient returns a client for the --admin of cmd.
func (a *app) adminClient(cmd *cobra.Command) (*adminClient, error) {
	addr := a.adminAddr(cmd)
	base := addr
	if !strings.Contains(addr, "://") {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, &usageError{fmt.Errorf("--admin %q: want host:port, e.g. %s", addr, supervisor.DefaultAdminAddr)}
		}
		base = "http://" + addr
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{fmt.Errorf("--admin %q: want host:port or an http:// URL", addr)}
	}
	return &adminClient{addr: addr, base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: adminTimeout}}, nil
}

// get returns the body of GET path, which must answer 200.
func (c *adminClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("admin API request %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the Warren admin API's answer to GET %s at %s: %w", path, c.addr, err)
	}
	if res.StatusCode != http.StatusOK {
		var e supervisor.AdminError
		why := "not a Warren admin API?"
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			why = e.Error
		}
		return nil, fmt.Errorf("the Warren admin API at %s answered GET %s with %s: %s", c.addr, path, res.Status, why)
	}
	return body, nil
}

// getJSON decodes the answer of GET path into v and also returns it raw.
func (c *adminClient) getJSON(ctx context.Context, path string, v any) ([]byte, error) {
	body, err := c.get(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("the answer of %s to GET %s is not what Warren expects (another version, or not a Warren admin API?): %w", c.addr, path, err)
	}
	return body, nil
}

// unreachable names why a request got no answer at all.
func (c *adminClient) unreachable(err error) error {
	cause, hint := "", "is --admin (or $"+envAdmin+") right?"
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		cause, hint = "connection refused", "is `warren run` running?"
	case errors.As(err, &dnsErr):
		cause = "no such host " + dnsErr.Name
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		cause, hint = "no answer within "+adminTimeout.String(), "is `warren run` stuck, or a firewall in the way?"
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("request to the Warren admin API at %s cancelled", c.addr)
	default:
		cause = innermost(err).Error()
	}
	return fmt.Errorf("cannot reach the Warren admin API at %s: %s — %s", c.addr, cause, hint)
}

// innermost unwraps url.Error and net.OpError layers down to the cause.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// printJSON writes an admin API answer as it came (the API indents it).
func printJSON(w io.Writer, body []byte) error {
	if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	_, err := w.Write(body)
	return err
}
