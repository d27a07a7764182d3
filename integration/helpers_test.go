package integration

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// logBuffer collects the tree's logs so that tests can assert on them (no
// password, the expected warnings) and print them on failure.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startTree starts a Warren tree for cfg and shuts it down at cleanup. The
// logs are kept and shown if the test fails.
func startTree(t testing.TB, cfg supervisor.Config) (*supervisor.Tree, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tree, err := supervisor.Start(cfg, supervisor.WithLogger(logger))
	if err != nil {
		t.Fatalf("start tree: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := tree.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("tree logs:\n%s", tail(logs.String(), 60))
		}
	})
	return tree, logs
}

// oneZone is a config with the given brokers in zone "local".
func oneZone(uris ...string) supervisor.Config {
	return supervisor.Config{Zones: []supervisor.Zone{{Name: "local", Brokers: uris}}}
}

// bare drops the pools that hold channels of their own (RPC workers,
// publishers), for tests that count channels on the broker.
func bare(cfg supervisor.Config) supervisor.Config {
	cfg.RPC.Workers = -1
	cfg.Publish.Publishers = -1
	return cfg
}

func within(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitReady(t testing.TB, tree *supervisor.Tree, d time.Duration) {
	t.Helper()
	if err := tree.WaitReady(within(t, d)); err != nil {
		t.Fatalf("tree not ready within %v: %v", d, err)
	}
}

// waitConn waits until the row of broker satisfies cond and returns it.
func waitConn(t testing.TB, tree *supervisor.Tree, broker string, d time.Duration, what string, cond func(registry.Connection) bool) registry.Connection {
	t.Helper()
	row, err := tree.Registry().WaitConnection(within(t, d), broker, cond)
	if err != nil {
		t.Fatalf("broker %s: %s not reached within %v: %v (row %+v)", broker, what, d, err, row)
	}
	return row
}

func brokerID(t testing.TB, b *Broker) string {
	t.Helper()
	id, err := actors.BrokerID(b.URI())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// probe is a consumer actor for tests: it asks for a channel and reports
// every assignment notice on a Go channel.
type probe struct {
	pid    *actor.PID
	events chan any
}

func spawnProbe(t testing.TB, tree *supervisor.Tree, name string, req actors.RequestChannel) *probe {
	t.Helper()
	p := &probe{events: make(chan any, 64)}
	props := actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			req.Consumer = c.Self()
			c.Send(tree.PID(actors.AssignmentsName), &req)
		case *actors.ChannelAssigned, *actors.ChannelLost:
			p.events <- m
		}
	})
	pid, err := tree.System().Root.SpawnNamed(props, name)
	if err != nil {
		t.Fatal(err)
	}
	p.pid = pid
	t.Cleanup(func() { _ = tree.System().Root.StopFuture(pid).Wait() })
	return p
}

// assigned waits for the next ChannelAssigned, skipping ChannelLost notices
// (returned in lost).
func (p *probe) assigned(t testing.TB, d time.Duration) (a *actors.ChannelAssigned, lost []*actors.ChannelLost) {
	t.Helper()
	ctx := within(t, d)
	for {
		select {
		case ev := <-p.events:
			switch m := ev.(type) {
			case *actors.ChannelAssigned:
				return m, lost
			case *actors.ChannelLost:
				lost = append(lost, m)
			}
		case <-ctx.Done():
			t.Fatalf("probe %s: no channel assigned within %v (lost: %d)", p.pid.Id, d, len(lost))
		}
	}
}

// lost waits for the next ChannelLost.
func (p *probe) lost(t testing.TB, d time.Duration) *actors.ChannelLost {
	t.Helper()
	ctx := within(t, d)
	for {
		select {
		case ev := <-p.events:
			if m, ok := ev.(*actors.ChannelLost); ok {
				return m
			}
			t.Fatalf("probe %s: got %T, want ChannelLost", p.pid.Id, ev)
		case <-ctx.Done():
			t.Fatalf("probe %s: no ChannelLost within %v", p.pid.Id, d)
		}
	}
}

// quiet asserts that the probe gets no notice while cond is waited for.
func (p *probe) none(t testing.TB) {
	t.Helper()
	select {
	case ev := <-p.events:
		t.Fatalf("probe %s: unexpected %T %+v", p.pid.Id, ev, ev)
	default:
	}
}

// ctlCount counts the lines of a rabbitmqctl listing that contain substr.
func ctlCount(t testing.TB, b *Broker, substr string, args ...string) int {
	t.Helper()
	out := b.Ctl(t, append(args, "--quiet", "--no-table-headers")...)
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) != "" && strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// eventually re-evaluates cond after each change of the registry until it
// holds or d passes: conditions read from the registry wait on its watch
// sets rather than on a timer.
func eventually(t testing.TB, tree *supervisor.Tree, d time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx := within(t, d)
	err := tree.Registry().Wait(ctx, func(s *registry.Snapshot) (bool, error) {
		s.WatchAll()
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("%s: not true within %v", what, d)
	}
}

// pollUntil checks an external condition (the broker's own view through
// rabbitmqctl) every 100ms until it holds or d passes. Conditions on Warren's
// own state use eventually, which waits on the registry's watch sets.
func pollUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("%s: not true within %v", what, d)
		case <-tick.C:
		}
	}
}
