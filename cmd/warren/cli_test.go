package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/warrenmq/warren/internal/leakcheck"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/supervisor"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// cli is one in-process warren invocation.
type cli struct {
	env     map[string]string
	tty     bool
	started func(*supervisor.Tree, net.Addr)
}

// run executes args and returns the exit code, stdout and stderr.
func (c cli) run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr testkit.LogBuffer // written by the tree's loggers while the command runs
	a := &app{
		stdout:  &stdout,
		stderr:  &stderr,
		getenv:  func(k string) string { return c.env[k] },
		isTTY:   func(io.Writer) bool { return c.tty },
		started: c.started,
	}
	code := a.execute(ctx, args)
	return code, stdout.String(), stderr.String()
}

// warren runs args with an empty environment and no terminal.
func warren(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return cli{}.run(t, context.Background(), args...)
}

func mustNotContain(t *testing.T, what, got string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("%s shows %q:\n%s", what, s, got)
		}
	}
}
