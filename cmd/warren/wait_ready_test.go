package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// nonEmptyLines returns the lines of s that hold something.
func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// A permanent error (refused credentials, an unknown vhost, a host name
// that does not resolve) ends a client command at once with one error
// line, instead of --wait's 10 s of dial warnings.
func TestClientCommands_FailAtOnceWithOneLineOnAPermanentError(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	for _, tc := range []struct {
		name, uri, want string
	}{
		{"refused credentials", "amqp://guest:wrong-s3cret@" + nb.Addr() + "/", "403"},
		{"unknown vhost", "amqp://guest:guest@" + nb.Addr() + "/nope", "vhost"},
		{"unresolvable host", "amqp://guest:guest@warren-no-such-host.invalid:5672/", "no such host"},
	} {
		for _, args := range [][]string{
			{"publish", "--exchange", "amq.topic", "--key", "k", "{}"},
			{"call", "--exchange", "amq.topic", "--key", "k", "--timeout", "5s", `{"Event-Category":"x","Event-Name":"y"}`},
			{"listen", "--exchange", "amq.topic", "--passive", "--key", "#", "--count", "1"},
		} {
			t.Run(tc.name+"/"+args[0], func(t *testing.T) {
				code, _, stderr := warren(t, append(args, "--url", tc.uri)...)
				lines := nonEmptyLines(stderr)
				if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) || !strings.Contains(lines[0], "--wait DURATION keeps trying") {
					t.Fatalf("exit %d, stderr:\n%s\nwant a non-zero exit and one line naming %q and --wait", code, stderr, tc.want)
				}
				if strings.Contains(stderr, "deadline exceeded") {
					t.Fatalf("stderr:\n%s\nit waited out its 10s instead of giving up at the permanent error", stderr)
				}
				mustNotContain(t, "stderr", stderr, "wrong-s3cret")
			})
		}
	}
	t.Run("--wait keeps trying through it", func(t *testing.T) {
		start := time.Now()
		code, _, stderr := warren(t, "publish", "--url", "amqp://guest:wrong-s3cret@"+nb.Addr()+"/", "--wait", "700ms", "--exchange", "amq.topic", "--key", "k", "{}")
		if took := time.Since(start); code == 0 || took < 700*time.Millisecond || !strings.Contains(stderr, "context deadline exceeded") {
			t.Fatalf("exit %d after %v, stderr:\n%s\nwant a failure after the whole --wait", code, took, stderr)
		}
	})
}

// `warren run --wait D` exits non-zero when the tree is not ready within
// D; it used to ignore --wait and retry for ever.
func TestRun_WaitGivenExitsWhenNotReadyWithinIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // ends a run that ignores --wait
	defer cancel()
	code, _, stderr := cli{}.run(t, ctx, "run", "--url", "amqp://guest:guest@"+closedPort(t)+"/", "--admin", "127.0.0.1:0", "--wait", "1s")
	if code == 0 || !strings.Contains(stderr, "--wait 1s") || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("exit %d, stderr:\n%s\nwant a non-zero exit naming --wait 1s and the refusal", code, stderr)
	}
	if ctx.Err() != nil {
		t.Fatal("run --wait 1s was ended by the test's 20s ctx, not by its --wait")
	}
}

// An exchange that exists with another type ends `warren listen` at the
// broker's first refusal with the fix in the command's words, and one
// ERROR line, not five refusals' worth of log.
func TestListen_AnExchangeOfAnotherTypeFailsOnceWithAHint(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ch := testkit.AMQPChannel(t, nb.URL())
	if err := ch.ExchangeDeclare("orders-x", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := warren(t, "listen", "--url", nb.URL(), "--exchange", "orders-x", "--type", "fanout", "--key", "k", "--count", "1")
	if code == 0 || !strings.Contains(stderr, "exchange orders-x exists with other flags (type/durable): use --passive or the same --type/--durable") {
		t.Fatalf("exit %d, stderr:\n%s\nwant a failure with the hint", code, stderr)
	}
	if n := strings.Count(stderr, "level=ERROR"); n > 1 || strings.Contains(stderr, "times in a row") {
		t.Fatalf("%d ERROR lines, stderr:\n%s\nwant at most one, and no count of refusals", n, stderr)
	}
	if strings.Contains(stderr, "deadline exceeded") {
		t.Fatalf("stderr:\n%s\nit waited out a deadline instead of failing at the first refusal", stderr)
	}
}
