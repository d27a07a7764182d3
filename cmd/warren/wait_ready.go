package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/supervisor"
)

// How a command waits for its tree (--wait):
//
//   - a client command (publish, call, listen, errors) without --wait waits
//     up to defaultWait for a transient error (connection refused, a
//     broker restarting) but gives up at once on a permanent one (access
//     refused, vhost not found, host name not resolved: actors.Permanent),
//     with one error line: the dial log it held back repeats that error;
//   - with --wait D it waits D through every error, permanent ones
//     included, logging as it goes: someone may be fixing the broker;
//   - `warren run` waits as long as it runs; with --wait D it exits
//     non-zero when the tree is not ready within D.

// readyWait returns how long cmd waits for its tree and whether --wait
// was given (then it waits through permanent errors).
func readyWait(cmd *cobra.Command) (time.Duration, bool, error) {
	d, _ := cmd.Flags().GetDuration("wait")
	if d <= 0 {
		return 0, false, &usageError{fmt.Errorf("--wait %v: need a positive duration, e.g. 5s", d)}
	}
	return d, cmd.Flags().Changed("wait"), nil
}

// waitTree waits, at most d, until t is ready; patient waits through
// permanent errors. A permanent error's message says how to keep trying.
func waitTree(ctx context.Context, t *supervisor.Tree, d time.Duration, patient bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if patient {
		return t.WaitReadyPatiently(ctx)
	}
	err := t.WaitReady(ctx)
	if errors.Is(err, actors.ErrPermanent) {
		return fmt.Errorf("%w; --wait DURATION keeps trying that long", err)
	}
	return err
}

// runDeadline returns a channel that gets the error of `warren run
// --wait D` when t is not ready within D; without --wait, a channel that
// never gets one.
func runDeadline(ctx context.Context, cmd *cobra.Command, t *supervisor.Tree) (<-chan error, error) {
	d, given, err := readyWait(cmd)
	if err != nil || !given {
		return nil, err
	}
	ch := make(chan error, 1)
	go func() {
		if err := waitTree(ctx, t, d, true); err != nil && ctx.Err() == nil {
			ch <- fmt.Errorf("--wait %v: %w", d, err)
		}
	}()
	return ch, nil
}

// logGate holds a client command's log records back while it waits for
// its tree: once the tree is ready they are written and the next ones go
// straight through (open); when the wait fails they and all later ones,
// the tree's shutdown included, are discarded (drop), since the command's
// error names each broker's last error, the one the dial lines repeat.
type logGate struct {
	mu      sync.Mutex // guards the fields below
	held    []func()
	through bool // records are written at once
	discard bool // records are dropped
}

// handler returns a slog.Handler writing to h through the gate.
func (g *logGate) handler(h slog.Handler) slog.Handler { return &gatedHandler{inner: h, gate: g} }

// open writes the held records and lets the next ones through.
func (g *logGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range g.held {
		f()
	}
	g.held, g.through = nil, true
}

// drop forgets the held records and discards the next ones.
func (g *logGate) drop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.discard = nil, true
}

type gatedHandler struct {
	inner slog.Handler
	gate  *logGate
}

func (h *gatedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *gatedHandler) Handle(ctx context.Context, r slog.Record) error {
	g := h.gate
	g.mu.Lock()
	if g.discard {
		g.mu.Unlock()
		return nil
	}
	if !g.through {
		inner, r := h.inner, r.Clone()
		g.held = append(g.held, func() { _ = inner.Handle(context.WithoutCancel(ctx), r) })
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	return h.inner.Handle(ctx, r)
}

func (h *gatedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &gatedHandler{inner: h.inner.WithAttrs(as), gate: h.gate}
}

func (h *gatedHandler) WithGroup(name string) slog.Handler {
	return &gatedHandler{inner: h.inner.WithGroup(name), gate: h.gate}
}

// Binding's hint (actors/listener's conflictHint) in the words of the
// flags of `warren listen`.
const (
	bindingHint = "give the Binding the same Kind and Durable (AutoDelete, Internal), or Declare false to bind to it as it is"
	listenHint  = "use --passive or the same --type/--durable"
)

// listenWords says a listener's refusal hint in the listen command's
// flags: the error is otherwise as WaitConsuming returned it.
func listenWords(err error) error {
	if err == nil || !strings.Contains(err.Error(), bindingHint) {
		return err
	}
	return errors.New(strings.Replace(err.Error(), bindingHint, listenHint, 1))
}
