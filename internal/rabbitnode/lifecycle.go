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
func (b *Node) Stop(ctx context.Context) error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	p := b.current()
	if p == nil {
		return nil
	}
	beam := p.beamPID()
	if beam == 0 {
		return b.killLocked() // exited already, or not yet exec'd beam.smp: nothing to be graceful to
	}
	_ = syscall.Kill(beam, syscall.SIGTERM)
	_ = syscall.Kill(beam, syscall.SIGCONT) // a frozen node must run to stop
	ctx, cancel := context.WithTimeout(ctx, DefaultStopTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = b.killLocked()
		return fmt.Errorf("rabbitnode: stop %s: still running after SIGTERM (%w); killed it", b.Name, ctx.Err())
	}
	return b.killLocked() // reaps helpers and waits for the ports to close
}

// StopWithCtl stops the node the way an operator does, with rabbitmqctl -n <node> stop, and
// waits until its processes exited and its ports are closed. On a cluster node this is the
// graceful stop of a rolling restart: the node closes its client connections (320
// CONNECTION_FORCED) and leaves the cluster's running set; Start brings it back on the same
// ports and data directory, and it rejoins. A node not stopped within ctx and DefaultStopTimeout
// is killed and StopWithCtl fails. Stopping a stopped node does nothing.
func (b *Node) StopWithCtl(ctx context.Context) error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	p := b.current()
	if p == nil {
		return nil
	}
	if p.hasExited() {
		return b.killLocked()
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultStopTimeout)
	defer cancel()
	if _, err := b.Ctl(ctx, "stop"); err != nil {
		_ = b.killLocked()
		return fmt.Errorf("rabbitnode: stop %s: %w; killed it", b.Name, err)
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = b.killLocked()
		return fmt.Errorf("rabbitnode: stop %s: still running after rabbitmqctl stop (%w); killed it", b.Name, ctx.Err())
	}
	return b.killLocked() // reaps helpers and waits for the ports to close
}

// Kill kills the node with SIGKILL (process group, beam.smp and its helper processes) and waits
// until they are gone and its ports are closed. Killing a stopped node does nothing.
//
// Like a real crash, Kill loses what the node had not written yet: Mnesia buffers its log, so
// a queue, exchange, binding or user declared up to about 2 s before Kill may be gone after
// Start. Call SyncMetadata first to keep them (or Stop, which is graceful).
func (b *Node) Kill() error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	return b.killLocked()
}

// killFailedBoot kills a run that did not boot. It waits for the processes to be gone but not
// for the ports to close: another process may hold them, which may be why the boot failed.
func (b *Node) killFailedBoot() {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	_ = b.killProcs()
}

// killLocked kills the current run and waits for its ports to close; b.lifecycle held on entry.
func (b *Node) killLocked() error {
	if err := b.killProcs(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	for _, addr := range []string{b.Addr(), b.TLSAddr(), b.distAddr()} {
		if err := waitPortClosed(ctx, addr); err != nil {
			return fmt.Errorf("rabbitnode: kill %s: %w", b.Name, err)
		}
	}
	return nil
}

// killProcs kills the current run and waits until its processes are gone; b.lifecycle held on
// entry.
func (b *Node) killProcs() error {
	p := b.current()
	if p == nil {
		return nil
	}
	pids := p.killAll()
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-ctx.Done():
		return fmt.Errorf("rabbitnode: kill %s: watchdog %d still running after %v", b.Name, p.pgid, killTimeout)
	}
	if err := waitGone(ctx, pids); err != nil {
		return fmt.Errorf("rabbitnode: kill %s: %w", b.Name, err)
	}
	b.setProc(nil)
	return nil
}

// SyncMetadata makes the node write its metadata log (Mnesia: queues, exchanges, bindings,
// users, vhosts) to disk, so that a following Kill loses none of it.
func (b *Node) SyncMetadata(ctx context.Context) error {
	_, err := b.Ctl(ctx, "eval", "mnesia:sync_log().")
	return err
}

// Freeze stops beam.smp with SIGSTOP: its ports stay open and accept TCP connections, but the
// broker answers nothing, heartbeats included, until Thaw.
//
// amqp091-go clears its read deadline after connection.open-ok and arms it again only when the
// next frame arrives, so a connection frozen right after its handshake never times out. Make one
// round trip (open a channel) on a connection before freezing its broker.
func (b *Node) Freeze() error { return b.signalBeam(syscall.SIGSTOP, true) }

// Thaw resumes a frozen beam.smp with SIGCONT.
func (b *Node) Thaw() error { return b.signalBeam(syscall.SIGCONT, false) }

// signalBeam sends sig to beam.smp and waits until it is stopped (or running, if !stopped).
func (b *Node) signalBeam(sig syscall.Signal, stopped bool) error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	p := b.current()
	if p == nil || p.hasExited() {
		return fmt.Errorf("rabbitnode: %v %s: not running", sig, b.Name)
	}
	pid := p.beamPID()
	if pid == 0 {
		return fmt.Errorf("rabbitnode: %v %s: no beam.smp in process group %d", sig, b.Name, p.pgid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("rabbitnode: %v %s (beam.smp %d): %w", sig, b.Name, pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	for {
		s, ok := readProcStat(pid)
		if !ok {
			return fmt.Errorf("rabbitnode: %v %s: beam.smp %d vanished", sig, b.Name, pid)
		}
		if (s.State == 'T') == stopped {
			return nil
		}
		if err := pause(ctx, nil); err != nil {
			return fmt.Errorf("rabbitnode: %v %s: beam.smp %d in state %c: %w", sig, b.Name, pid, s.State, err)
		}
	}
}

// BeamPID returns the pid of the node's beam.smp, 0 if the node is not running.
func (b *Node) BeamPID() int {
	p := b.current()
	if p == nil {
		return 0
	}
	return p.beamPID()
}
