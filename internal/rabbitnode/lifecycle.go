package rabbitnode

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// DefaultStopTimeout bounds a graceful Stop; a node still running then is killed.
const DefaultStopTimeout = time.Minute

// killTimeout bounds how long Kill waits for the processes to vanish and the ports to close.
const killTimeout = 30 * time.Second

// signalTimeout bounds how long Freeze and Thaw wait for beam.smp to change state.
const signalTimeout = 10 * time.Second

// Stop stops the node gracefully (SIGTERM to beam.smp, as rabbitmqctl stop would) and waits until
// its processes exited and its ports are closed. A node not stopped within ctx and
// DefaultStopTimeout is killed and Stop fails. Stopping a stopped node does nothing.
func (n *Node) Stop(ctx context.Context) error {
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	p := n.current()
	if p == nil {
		return nil
	}
	beam := p.beamPID()
	if beam == 0 {
		return n.killLocked() // exited already, or not yet exec'd beam.smp: nothing to be graceful to
	}
	_ = syscall.Kill(beam, syscall.SIGTERM)
	_ = syscall.Kill(beam, syscall.SIGCONT) // a frozen node must run to stop
	ctx, cancel := context.WithTimeout(ctx, DefaultStopTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = n.killLocked()
		return fmt.Errorf("rabbitnode: stop %s: still running after SIGTERM (%w); killed it", n.Name, ctx.Err())
	}
	return n.killLocked() // reaps helpers and waits for the ports to close
}

// StopWithCtl stops the node the way an operator does, with rabbitmqctl -n <node> stop, and
// waits until its processes exited and its ports are closed. On a cluster node this is the
// graceful stop of a rolling restart: the node closes its client connections (320
// CONNECTION_FORCED) and leaves the cluster's running set; Start brings it back on the same
// ports and data directory, and it rejoins. A node not stopped within ctx and DefaultStopTimeout
// is killed and StopWithCtl fails. Stopping a stopped node does nothing.
func (n *Node) StopWithCtl(ctx context.Context) error {
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	p := n.current()
	if p == nil {
		return nil
	}
	if p.hasExited() {
		return n.killLocked()
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultStopTimeout)
	defer cancel()
	if _, err := n.Ctl(ctx, "stop"); err != nil {
		_ = n.killLocked()
		return fmt.Errorf("rabbitnode: stop %s: %w; killed it", n.Name, err)
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = n.killLocked()
		return fmt.Errorf("rabbitnode: stop %s: still running after rabbitmqctl stop (%w); killed it", n.Name, ctx.Err())
	}
	return n.killLocked() // reaps helpers and waits for the ports to close
}

// Kill kills the node with SIGKILL (process group, beam.smp and its helper processes) and waits
// until they are gone and its ports are closed. Killing a stopped node does nothing.
//
// Like a real crash, Kill loses what the node had not written yet: Mnesia buffers its log, so
// a queue, exchange, binding or user declared up to about 2 s before Kill may be gone after
// Start. Call SyncMetadata first to keep them (or Stop, which is graceful).
func (n *Node) Kill() error {
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	return n.killLocked()
}

// killFailedBoot kills a run that did not boot. It waits for the processes to be gone but not
// for the ports to close: another process may hold them, which may be why the boot failed.
func (n *Node) killFailedBoot() {
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	_ = n.killProcs()
}

// killLocked kills the current run and waits for its ports to close; n.lifecycle held on entry.
func (n *Node) killLocked() error {
	if err := n.killProcs(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	for _, addr := range []string{n.Addr(), n.TLSAddr(), n.distAddr()} {
		if err := waitPortClosed(ctx, addr); err != nil {
			return fmt.Errorf("rabbitnode: kill %s: %w", n.Name, err)
		}
	}
	return nil
}

// killProcs kills the current run and waits until its processes are gone; n.lifecycle held on
// entry.
func (n *Node) killProcs() error {
	p := n.current()
	if p == nil {
		return nil
	}
	pids := p.killAll()
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-ctx.Done():
		return fmt.Errorf("rabbitnode: kill %s: watchdog %d still running after %v", n.Name, p.pgid, killTimeout)
	}
	if err := waitGone(ctx, pids); err != nil {
		return fmt.Errorf("rabbitnode: kill %s: %w", n.Name, err)
	}
	n.setProc(nil)
	return nil
}

// SyncMetadata makes the node write its metadata log (Mnesia: queues, exchanges, bindings,
// users, vhosts) to disk, so that a following Kill loses none of it.
func (n *Node) SyncMetadata(ctx context.Context) error {
	_, err := n.Ctl(ctx, "eval", "mnesia:sync_log().")
	return err
}

// Freeze stops beam.smp with SIGSTOP: its ports stay open and accept TCP connections, but the
// broker answers nothing, heartbeats included, until Thaw.
//
// amqp091-go clears its read deadline after connection.open-ok and arms it again only when the
// next frame arrives, so a connection frozen right after its handshake never times out. Make one
// round trip (open a channel) on a connection before freezing its broker.
func (n *Node) Freeze() error { return n.signalBeam(syscall.SIGSTOP, true) }

// Thaw resumes a frozen beam.smp with SIGCONT.
func (n *Node) Thaw() error { return n.signalBeam(syscall.SIGCONT, false) }

// signalBeam sends sig to beam.smp and waits until it is stopped (or running, if !stopped).
func (n *Node) signalBeam(sig syscall.Signal, stopped bool) error {
	n.lifecycle.Lock()
	defer n.lifecycle.Unlock()
	p := n.current()
	if p == nil || p.hasExited() {
		return fmt.Errorf("rabbitnode: %v %s: not running", sig, n.Name)
	}
	pid := p.beamPID()
	if pid == 0 {
		return fmt.Errorf("rabbitnode: %v %s: no beam.smp in process group %d", sig, n.Name, p.pgid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("rabbitnode: %v %s (beam.smp %d): %w", sig, n.Name, pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	for {
		s, ok := readProcStat(pid)
		if !ok {
			return fmt.Errorf("rabbitnode: %v %s: beam.smp %d vanished", sig, n.Name, pid)
		}
		if (s.State == 'T') == stopped {
			return nil
		}
		if err := pause(ctx, nil); err != nil {
			return fmt.Errorf("rabbitnode: %v %s: beam.smp %d in state %c: %w", sig, n.Name, pid, s.State, err)
		}
	}
}

// BeamPID returns the pid of the node's beam.smp, 0 if the node is not running.
func (n *Node) BeamPID() int {
	p := n.current()
	if p == nil {
		return 0
	}
	return p.beamPID()
}
