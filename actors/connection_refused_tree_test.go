package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// A permanent dial error (refused credentials, a vhost the broker does
// not have) ends Tree.WaitReady at once with actors.ErrPermanent, not at
// its ctx's deadline; WaitReadyPatiently waits through it; the connection
// keeps redialling but logs the error once.
func TestTree_WaitReadyGivesUpAtOnceOnAPermanentDialError(t *testing.T) {
	for _, tc := range []struct {
		name, uri, reason string
	}{
		{"refused credentials", "amqp://guest:wrong-s3cret@%s/", "403"},
		{"unknown vhost", "amqp://guest:guest@%s/nope", "vhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := startNull(t, nullbroker.Config{})
			uri := strings.Replace(tc.uri, "%s", nb.Addr(), 1)
			id, err := actors.BrokerID(uri)
			if err != nil {
				t.Fatal(err)
			}
			cfg := fast(supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: []string{uri}}}})
			cfg.Connection.Backoff = actors.Backoff{First: 20 * time.Millisecond, Max: 60 * time.Millisecond}
			tree, logs := treetest.Start(t, cfg)

			wctx := within(t, 10*time.Second)
			err = tree.WaitReady(wctx)
			if !errors.Is(err, actors.ErrPermanent) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("WaitReady = %v; want an error wrapping ErrPermanent naming %q", err, tc.reason)
			}
			if errors.Is(err, context.DeadlineExceeded) || wctx.Err() != nil {
				t.Fatalf("WaitReady = %v: it ended with its ctx, not at the refusal", err)
			}
			if strings.Contains(err.Error(), "wrong-s3cret") {
				t.Fatalf("the error shows the password: %v", err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if err := tree.WaitReadyPatiently(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, actors.ErrPermanent) {
				t.Fatalf("WaitReadyPatiently = %v; want it to wait out its ctx", err)
			}

			row := waitConn(t, tree, id, "three refused dials", func(c registry.Connection) bool { return c.Attempts >= 3 && c.Refused })
			if row.State == registry.Connected {
				t.Fatalf("row %+v: connected with a refused dial", row)
			}
			n := 0
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `msg="dial refused: `) && strings.Contains(line, "broker="+id+" ") {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d dial-refused lines at error level after %d dials; want one:\n%s", n, row.Attempts, logs.Tail(20))
			}
		})
	}
}

// A connection that stopped dialling (Backoff.MaxAttempts) cannot come up
// by itself either: WaitReady ends with actors.ErrGaveUp, not at its
// deadline.
func TestTree_WaitReadyGivesUpWithTheConnection(t *testing.T) {
	cfg := supervisor.Config{Connection: actors.ConnectionOptions{Backoff: actors.Backoff{First: 20 * time.Millisecond, Max: 40 * time.Millisecond, MaxAttempts: 2}}}
	tree := startTree(t, cfg, closedPort)
	wctx := within(t, 10*time.Second)
	err := tree.WaitReady(wctx)
	if !errors.Is(err, actors.ErrGaveUp) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("WaitReady = %v; want an error wrapping ErrGaveUp with the last refusal", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || wctx.Err() != nil {
		t.Fatalf("WaitReady = %v: it ended with its ctx, not when the connection gave up", err)
	}
}
