package treetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/supervisor"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// EnvTracing, set to anything, makes Start give every tree a tracer
// provider (exporting nowhere): the same tests then run with traceparent
// headers on every message, to show that peers (Kazoo, Kamailio, Warren)
// ignore or carry them. A test's own WithTracerProvider wins.
const EnvTracing = "WARREN_TEST_TRACING"

// ShutdownTimeout bounds the Shutdown that Start registers as a cleanup.
const ShutdownTimeout = 15 * time.Second

// Option changes what Start does.
type Option func(*options)

type options struct {
	sup             []supervisor.Option
	shutdownMayFail bool
	nodes           bool
}

// With passes supervisor options to supervisor.Start, after the logger
// Start sets (so a WithLogger here replaces it).
func With(opts ...supervisor.Option) Option {
	return func(o *options) { o.sup = append(o.sup, opts...) }
}

// ShutdownMayFail keeps the cleanup's Shutdown error from failing the
// test: for a test that shuts the tree down itself and checks the error
// (Shutdown returns the same error to every caller).
func ShutdownMayFail() Option { return func(o *options) { o.shutdownMayFail = true } }

// Nodes keeps the tree's nodes actor (Kazoo's kz_nodes), which Start
// otherwise turns off (supervisor.NodesConfig.Disabled): its listener,
// queue and advertisements would show in the listeners, publishers and
// channels that other tests count.
func Nodes() Option { return func(o *options) { o.nodes = true } }

// Start starts a tree of cfg that logs at debug level into the returned
// buffer, whose last lines are printed if the test fails, and shuts it
// down when the test ends, failing the test if Shutdown does. Cleanups
// registered before Start (closing a null broker) run after the shutdown.
func Start(t testing.TB, cfg supervisor.Config, opts ...Option) (*supervisor.Tree, *testkit.LogBuffer) {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if !o.nodes {
		cfg.Nodes.Disabled = true
	}
	logger, logs := testkit.Logger(t)
	sup := []supervisor.Option{supervisor.WithLogger(logger)}
	if os.Getenv(EnvTracing) != "" {
		tp := sdktrace.NewTracerProvider()
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		sup = append(sup, supervisor.WithTracerProvider(tp))
	}
	tree, err := supervisor.Start(cfg, append(sup, o.sup...)...)
	if err != nil {
		t.Fatalf("start tree: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := tree.Shutdown(ctx); err != nil && !o.shutdownMayFail {
			t.Errorf("shutdown: %v", err)
		}
	})
	return tree, logs
}

// WaitReady waits until the tree has a broker of its local zone (see
// supervisor.Tree.WaitReady).
func WaitReady(t testing.TB, tree *supervisor.Tree, d time.Duration) {
	t.Helper()
	if err := tree.WaitReady(testkit.Within(t, d)); err != nil {
		t.Fatalf("tree not ready within %v: %v", d, err)
	}
}
