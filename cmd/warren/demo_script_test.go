package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// Ctrl-C is how `make demo` ends: make prints nothing over it (it used to
// print "make: *** [Makefile:15: demo] Error 1", or "Interrupt"). The
// test runs `make demo` (its deps step left out) against a null broker,
// live, and sends SIGINT to the whole process group once the live view
// shows, as a terminal's Ctrl-C does.
func TestMakeDemo_CtrlCExitsQuietly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is not on PATH (apt-get install make): %v", err)
	}
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // the script builds warren first
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", "../..", "-o", "deps", "demo",
		"DEMO_URL="+nb.URL(), "DEMO_FLAGS=-w --interval 200ms --calls 1 --admin 127.0.0.1:0")
	cmd.Env = builtEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a process group of its own, as a terminal's foreground job
	var stderr testkit.LogBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	live := make(chan struct{}, 1)
	var out strings.Builder
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "warren demo, live every") {
				select {
				case live <- struct{}{}:
				default:
				}
			}
		}
	}()
	select {
	case <-live:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-scanned
		t.Fatalf("make demo showed no live view within 4 minutes:\n%s%s", &out, stderr.String())
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-scanned
	err = cmd.Wait()
	// make, itself interrupted, ends by SIGINT once its recipe is done: a
	// shell shows nothing for that. A recipe that failed would be an exit 2.
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT) {
		t.Errorf("make demo after Ctrl-C: %v, want exit 0 or ended by SIGINT", err)
	}
	for _, noise := range []string{"make: ***", "Error", "exit status", "Interrupt", "warren: "} {
		if strings.Contains(stderr.String(), noise) || strings.Contains(out.String(), noise) {
			t.Errorf("make demo printed %q after Ctrl-C:\nstderr:\n%s", noise, stderr.String())
		}
	}
}
