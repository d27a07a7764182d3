package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of what a user sees at the prompt (exit codes, the demo's
// Ctrl-C) run the warren command as it ships: built once per test binary
// with go build, into the repository's .tmp-bin/ (ignored by git).

var (
	buildOnce sync.Once
	builtPath string
	buildOut  []byte
	buildErr  error
)

// builtWarren returns the path of the warren command built from this
// package, building it on first use.
func builtWarren(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		var dir string
		if dir, buildErr = filepath.Abs("../../.tmp-bin"); buildErr != nil {
			return
		}
		builtPath = filepath.Join(dir, "warren-cmd-test") // not integration's .tmp-bin/warren: both may build at once
		buildOut, buildErr = exec.Command("go", "build", "-o", builtPath, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/warren (needs the go command on PATH): %v\n%s", buildErr, buildOut)
	}
	return builtPath
}

// builtEnv is the environment of the built command: the test's, less
// the WARREN_* and KAZOO_* variables that would change what it reads,
// and the MAKE* ones of a `make unit` around the tests (a make the test
// runs would take its jobserver and flags).
func builtEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WARREN_") && !strings.HasPrefix(kv, "KAZOO_") && !strings.HasPrefix(kv, "MAKE") && !strings.HasPrefix(kv, "MFLAGS=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runBuilt runs the built warren with args to its end (within 60s) and
// returns its exit code, stdout and stderr.
func runBuilt(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, builtWarren(t), args...)
	cmd.Env = builtEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee) && ctx.Err() == nil:
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("warren %s: %v (within 60s)\n%s%s", strings.Join(args, " "), err, &stdout, &stderr)
	return 0, "", ""
}
