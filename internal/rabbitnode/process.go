package rabbitnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// watchdogScript runs rabbitmq-server ($1) in the background and waits for it. A reader blocks on
// the watchdog's stdin, a pipe whose only write end this process holds: when that closes
// (the process exited without cleaning up, or closed it on purpose), the reader kills the
// whole process group, node included. When the node exits on its own, so does the watchdog.
//
// An asynchronous list's stdin is /dev/null unless redirected, hence fd 3.
const watchdogScript = `exec 3<&0 </dev/null
"$1" 3<&- &
server=$!
(read -r _ <&3; kill -KILL 0) &
reader=$!
exec 3<&-
wait "$server"
status=$?
kill "$reader" 2>/dev/null
exit "$status"
`

// nodeProcess is one run of a node: the watchdog, leader of its own process group, with
// rabbitmq-server (sh) and beam.smp under it. beam.smp's port helpers (erl_child_setup,
// inet_gethost, the disk monitor's sh) live in a session of their own and exit with beam.smp.
type nodeProcess struct {
	cmd    *exec.Cmd
	pgid   int           // = the watchdog's pid
	guard  *os.File      // write end of the watchdog's stdin; closing it kills the group
	exited chan struct{} // closed once the watchdog has exited and been reaped
	err    error         // the watchdog's exit status; read only after exited is closed
	logs   []logMark     // where this run's output starts in the node's log files
}

// logMark is a log file and its size when the run started.
type logMark struct {
	path string
	from int64
}

// bootFailedMarker is what RabbitMQ logs when its boot fails. The node then takes about 30 s to
// exit, so readiness checks for it rather than waiting.
const bootFailedMarker = "BOOT FAILED"

// bootFailed reports whether this run logged bootFailedMarker.
func (p *nodeProcess) bootFailed() bool {
	for _, m := range p.logs {
		f, err := os.Open(m.path)
		if err != nil {
			continue
		}
		raw, _ := io.ReadAll(io.NewSectionReader(f, m.from, 1<<40))
		f.Close()
		if bytes.Contains(raw, []byte(bootFailedMarker)) {
			return true
		}
	}
	return false
}

// markLogs records the current sizes of paths.
func markLogs(paths ...string) []logMark {
	marks := make([]logMark, len(paths))
	for i, path := range paths {
		marks[i].path = path
		if fi, err := os.Stat(path); err == nil {
			marks[i].from = fi.Size()
		}
	}
	return marks
}

// spawnNode starts server under the watchdog with env, appending its output to logPath; nodeLog
// is the node's own log file.
func spawnNode(server string, env []string, dir, logPath, nodeLog string) (*nodeProcess, error) {
	marks := markLogs(logPath, nodeLog)
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	stdin, guard, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer stdin.Close()

	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "warren-it-watchdog", server)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a group to kill; no terminal ^C
	if err := cmd.Start(); err != nil {
		guard.Close()
		return nil, fmt.Errorf("rabbitnode: start %s: %w", server, err)
	}
	p := &nodeProcess{cmd: cmd, pgid: cmd.Process.Pid, guard: guard, exited: make(chan struct{}), logs: marks}
	go func() {
		p.err = cmd.Wait()
		guard.Close()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the watchdog has exited.
func (p *nodeProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitError describes how the watchdog ended; call only after exited is closed.
func (p *nodeProcess) exitError() error {
	if p.err == nil {
		return errors.New("rabbitnode: node exited with status 0")
	}
	return fmt.Errorf("rabbitnode: node exited: %w", p.err)
}

// beamPID returns the pid of the node's beam.smp, or 0 if it is not running (yet).
func (p *nodeProcess) beamPID() int {
	for _, s := range Procs() {
		if s.PGrp == p.pgid && s.Comm == "beam.smp" && s.State != 'Z' {
			return s.PID
		}
	}
	return 0
}

// killAll SIGKILLs the process group and every descendant of the watchdog, and returns the pids
// it signalled. Once the watchdog has been reaped its pid may be reused, so then it does nothing.
func (p *nodeProcess) killAll() []int {
	if p.hasExited() {
		return nil
	}
	pids := descendants(p.pgid)
	_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return pids
}
