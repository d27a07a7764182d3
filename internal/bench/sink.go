package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/warrenmq/warren/internal/nullbroker"
)

// SinkMain runs a null broker (internal/nullbroker: it answers the
// handshake, declares, binds and consumes, and acks every publish at once)
// in this process, prints its URL on out and serves until in ends. `warren
// bench --sink` runs it in a child process, so that the bench process's
// CPU time is the clients' own.
func SinkMain(in io.Reader, out io.Writer) error {
	s, err := nullbroker.Start(nullbroker.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(out, s.URL())
	_, _ = io.Copy(io.Discard, in) // until the parent closes our stdin (or dies)
	return nil
}

// Sink starts `self args...` (a process running SinkMain) and returns the
// null broker's URL and a function that stops it.
func Sink(self string, args ...string) (string, func(), error) {
	cmd := exec.Command(self, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("bench: start the null broker: %w", err)
	}
	stop := func() { stdin.Close(); _ = cmd.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("bench: the null broker said nothing: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}
