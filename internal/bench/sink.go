// The sink: the publish scenarios against a null broker in a child
// process (cmd/nullbroker), whose CPU time is not the bench's.

package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Sink starts command (cmd/nullbroker: a null broker that prints its URL
// and serves until its stdin ends) and returns the broker's URL and a
// function that stops it.
func Sink(command string, args ...string) (string, func(), error) {
	cmd := exec.Command(command, args...)
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
