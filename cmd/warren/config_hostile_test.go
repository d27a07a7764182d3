//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRun_TheIssuesURIsFailAtConfigTime: each of these was dialled (or
// echoed) with its password in the broker id, a log line or the error.
func TestRun_TheIssuesURIsFailAtConfigTime(t *testing.T) {
	clearWarrenEnv(t)
	for _, tc := range []struct{ uri, want string }{
		{"amqp:/guest:s3cret@127.0.0.1:5672", `--url: bad AMQP URI <unparsable AMQP URI>: the scheme must be followed by "//"`},
		{"amqp://guest:2024/s3cret@127.0.0.1/", "--url: bad AMQP URI <unparsable AMQP URI>: '@' after the host"},
		{`amqp://guest:s3cret"<>@127.0.0.1/`, "must be percent-encoded"},
	} {
		code, stdout, stderr := warren(t, "run", "--url", tc.uri, "--admin", "127.0.0.1:0")
		if code != exitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("--url %s: exit %d, stderr:\n%s\nwant %q", tc.uri, code, stderr, tc.want)
		}
		mustNotContain(t, "the error", stdout+stderr, "s3cret")
		path := writeConfig(t, "[zone]\nname = z1\namqp_uri = "+tc.uri+"\n")
		code, stdout, stderr = warren(t, "run", "--config", path, "--admin", "127.0.0.1:0")
		if want := path + ": [zone] #1 (z1): amqp_uri #1: bad AMQP URI"; code != exitError || !strings.Contains(stderr, want) {
			t.Errorf("amqp_uri = %s: exit %d, stderr:\n%s\nwant %q", tc.uri, code, stderr, want)
		}
		mustNotContain(t, "the error", stdout+stderr, "s3cret")
	}
}

func TestRun_AConfigOnAFIFOIsRefused(t *testing.T) {
	clearWarrenEnv(t)
	p := filepath.Join(t.TempDir(), "config.ini")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal("mkfifo:", err)
	}
	code, _, stderr := warren(t, "run", "--config", p, "--admin", "127.0.0.1:0")
	if code != exitError || !strings.Contains(stderr, "not a regular file (a FIFO)") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
