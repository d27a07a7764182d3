package rabbitnode

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// DefaultCtlTimeout bounds one rabbitmqctl call (about 1 s when the node is up).
const DefaultCtlTimeout = time.Minute

// SystemNode is the system broker's node name; Ctl and Upgrade never target it.
const SystemNode = "rabbit@localhost"

// Ctl runs rabbitmqctl -n <node> args... within ctx and DefaultCtlTimeout and returns its stdout.
// The error holds rabbitmqctl's stderr.
//
//	out, err := n.Ctl(ctx, "list_connections", "client_properties")
func (n *Node) Ctl(ctx context.Context, args ...string) (string, error) {
	return n.runTool(ctx, n.install.ctl, args...)
}

// Upgrade runs rabbitmq-upgrade -n <node> args... (drain, revive, await_online_quorum_plus_one,
// …) as Ctl runs rabbitmqctl.
func (n *Node) Upgrade(ctx context.Context, args ...string) (string, error) {
	return n.runTool(ctx, filepath.Join(filepath.Dir(n.install.ctl), "rabbitmq-upgrade"), args...)
}

// Queues runs rabbitmq-queues -n <node> args... (quorum_status,
// check_if_node_is_quorum_critical, …) as Ctl runs rabbitmqctl.
func (n *Node) Queues(ctx context.Context, args ...string) (string, error) {
	return n.runTool(ctx, filepath.Join(filepath.Dir(n.install.ctl), "rabbitmq-queues"), args...)
}

// runTool runs one of RabbitMQ's CLI tools (tool is its path) against the node.
func (n *Node) runTool(ctx context.Context, tool string, args ...string) (string, error) {
	shown := filepath.Base(tool) + " -n " + n.Name + " " + redactCtlArgs(args)
	if n.Name == SystemNode || n.Name == "" {
		return "", fmt.Errorf("rabbitnode: refusing to run %s", shown)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultCtlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"-n", n.Name}, args...)...)
	cmd.Env = n.baseEnv() // same HOME, so the same Erlang cookie as the node
	cmd.Dir = n.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %v (timeout)", err, time.Since(start).Round(time.Millisecond))
		}
		return stdout.String(), fmt.Errorf("rabbitnode: %s: %v\n%s", shown, err,
			uriPassword.ReplaceAllString(strings.TrimSpace(stderr.String()+"\n"+stdout.String()), "${1}xxxxx@"))
	}
	return stdout.String(), nil
}

// uriPassword matches the user and password of an AMQP URI, up to the "@": the value of a
// federation or shovel upstream (set_parameter) carries one.
var uriPassword = regexp.MustCompile(`(amqps?://[^:/@\s"]*:)[^@\s"]*@`)

// redactCtlArgs renders args for messages with the password of add_user and change_password
// masked, and that of any AMQP URI (set_parameter federation-upstream NAME '{"uri":...}').
func redactCtlArgs(args []string) string {
	shown := slices.Clone(args)
	if len(shown) >= 3 && (shown[0] == "add_user" || shown[0] == "change_password") {
		shown[2] = "xxxxx"
	}
	for i, a := range shown {
		shown[i] = uriPassword.ReplaceAllString(a, "${1}xxxxx@")
	}
	return strings.Join(shown, " ")
}
