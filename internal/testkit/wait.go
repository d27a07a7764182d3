package testkit

import (
	"context"
	"testing"
	"time"
)

// PollEvery is how often Poll re-checks its condition.
const PollEvery = 100 * time.Millisecond

// Within returns a context that expires after d and is cancelled when the
// test ends.
func Within(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Await waits until cond holds, re-checking it only when the channel that
// changed returns is closed: changed is called before each check, so that
// a change between the check and the wait is not missed. It fails the test
// if cond does not hold within d, naming what.
func Await(t testing.TB, d time.Duration, what string, changed func() <-chan struct{}, cond func() bool) {
	t.Helper()
	if err := AwaitCtx(Within(t, d), changed, cond); err != nil {
		t.Fatalf("%s: not true within %v", what, d)
	}
}

// AwaitCtx is Await for a caller with a context of its own; it returns
// ctx's error if ctx ends before cond holds.
func AwaitCtx(ctx context.Context, changed func() <-chan struct{}, cond func() bool) error {
	for {
		ch := changed()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Poll waits until cond holds, checking it every PollEvery. It is for
// state outside the process that nothing signals (rabbitmqctl listings, a
// listening socket, open file descriptors); state Warren or the null broker
// holds is waited on with Await or a registry watch.
func Poll(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(PollEvery)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("%s: not true within %v", what, d)
		case <-tick.C:
		}
	}
}

// Recv returns the next value from ch, failing the test if none comes
// within d.
func Recv[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("no %s within %v", what, d)
	}
	panic("unreachable")
}

// Quiet fails the test if a value is waiting on ch now. It does not wait:
// call it after an event that the unwanted value would have preceded (a
// later message on the same connection, a round trip that the broker
// handles after it), so that its absence means it did not happen.
func Quiet[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("unexpected %s: %v", what, v)
		}
		t.Fatalf("unexpected %s: channel closed", what)
	default:
	}
}
