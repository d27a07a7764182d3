package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/internal/redact"
	"github.com/warrenmq/warren/supervisor"
)

// Exit codes of the warren command.
const (
	exitOK          = 0
	exitError       = 1   // the command ran and failed
	exitUsage       = 2   // bad flags or arguments
	exitNotReady    = 3   // warren status: the node answered, not ready
	exitDegraded    = 4   // warren status: the node answered, ready but degraded
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM, as shells report it
)

// exitStatus ends a command that has printed its answer with a code other
// than 0 and no message of its own (warren status of a node not ready).
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errInterrupted ends a command stopped by SIGINT or SIGTERM before it was
// done (exit 130).
var errInterrupted = errors.New("interrupted")

// app is what every command shares: its streams and environment, so that
// tests run commands in-process.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader // `brokers add --uri-file -`; nil: none
	getenv         func(string) string
	isTTY          func(io.Writer) bool
	// started, when set, is told of the tree `run` started and where it
	// serves the admin API (tests wait on the tree's registry).
	started func(*supervisor.Tree, net.Addr)
	trace   traceState // the tracing of this command (trace.go)
}

func newApp() *app {
	return &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTTY: isTerminal}
}

// commands lists the constructors of warren's subcommands, all in one
// place: the node (run, demo), the listings, then the client commands.
var commands = []func(*app) *cobra.Command{
	newRunCmd, newDemoCmd, newBenchCmd,
	newStatusCmd, newTreeCmd, newZonesCmd, newBrokersCmd, newConnectionsCmd, newChannelsCmd, newListenersCmd, newPublishersCmd, newWorkersCmd, newNodesCmd,
	newListenCmd, newPublishCmd, newCallCmd, newErrorsCmd,
	newDrainCmd, newUndrainCmd, newPoolsCmd,
	newVersionCmd,
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "warren",
		Short: "Warren: Kazoo's AMQP layer as a supervision tree",
		Long: "warren runs Warren's supervision tree (warren run) and inspects a running\n" +
			"one through its admin API (warren tree, connections, channels).",
		SilenceUsage:  true, // runtime errors are not usage errors
		SilenceErrors: true, // execute prints them once
	}
	root.Version = versionLine()
	root.SetVersionTemplate("warren {{.Version}}\n")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	for _, newCmd := range commands {
		root.AddCommand(newCmd(a))
	}
	return root
}

// execute runs the command line args and returns the process exit code.
func (a *app) execute(ctx context.Context, args []string) int {
	root := a.newRoot()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if es := (*exitStatus)(nil); errors.As(err, &es) {
		return es.code // the answer printed says why
	}
	// Warren's errors each start with "warren: "; wrapped in one another
	// they would repeat it: the command says it once.
	// redact.Text: a last line of defence, every error path redacts already.
	msg := redact.Text(strings.ReplaceAll(strings.TrimPrefix(err.Error(), "warren: "), ": warren: ", ": "))
	fmt.Fprintln(a.stderr, "warren: "+msg)
	if errors.Is(err, errInterrupted) {
		return exitInterrupted
	}
	var ue *usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitError
}

// usageError is a mistake on the command line: a flag or an argument.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])}
	}
	return nil
}
