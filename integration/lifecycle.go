package integration

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// DefaultStopTimeout bounds a graceful Stop; a node still running then is killed.
const DefaultStopTimeout = time.Minute

// killTimeout bounds how long Kill waits for the processes to vanish and the ports to close.
const killTimeout = 30 * time.Second

// signalTimeout bounds how long Freeze and Thaw wait for beam.smp to change state.
const signalTimeout = 10 * time.Second

// Stop stops the node gracefully (SIGTERM to beam.smp, as rabbitmqctl stop would) and waits until
// its processes exited and its ports are closed. A node not stopped within DefaultStopTimeout is
// killed and the test fails. Stopping a stopped node does nothing.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if err := b.stop(); err != nil {
		t.Fatalf("%v\n%s", err, b.LogTail(30))
	}
}

func (b *Broker) stop() error {
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
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = b.killLocked()
		return fmt.Errorf("integration: stop %s: still running after %v; killed it", b.Name, DefaultStopTimeout)
	}
	return b.killLocked() // reaps helpers and waits for the ports to close
}

// StopWithCtl stops the node the way an operator does, with rabbitmqctl -n <node> stop, and
// waits until its processes exited and its ports are closed. On a cluster node this is the
// graceful stop of a rolling restart: the node closes its client connections (320
// CONNECTION_FORCED) and leaves the cluster's running set; Start brings it back on the same
// ports and data directory, and it rejoins. A node not stopped within DefaultStopTimeout is
// killed and the test fails. Stopping a stopped node does nothing.
func (b *Broker) StopWithCtl(t testing.TB) {
	t.Helper()
	if err := b.stopWithCtl(); err != nil {
		t.Fatalf("%v\n%s", err, b.LogTail(30))
	}
}

func (b *Broker) stopWithCtl() error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	p := b.current()
	if p == nil {
		return nil
	}
	if p.hasExited() {
		return b.killLocked()
	}
	if _, err := b.CtlErr("stop"); err != nil {
		_ = b.killLocked()
		return fmt.Errorf("integration: stop %s: %w; killed it", b.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = b.killLocked()
		return fmt.Errorf("integration: stop %s: still running %v after rabbitmqctl stop; killed it", b.Name, DefaultStopTimeout)
	}
	return b.killLocked() // reaps helpers and waits for the ports to close
}

// Kill kills the node with SIGKILL (process group, beam.smp and its helper processes) and waits
// until they are gone and its ports are closed. Killing a stopped node does nothing.
//
// Like a real crash, Kill loses what the node had not written yet: Mnesia buffers its log, so
// a queue, exchange, binding or user declared up to about 2 s before Kill may be gone after
// Start. Call SyncMetadata first to keep them (or Stop, which is graceful).
func (b *Broker) Kill(t testing.TB) {
	t.Helper()
	if err := b.kill(); err != nil {
		t.Fatal(err)
	}
}

func (b *Broker) kill() error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	return b.killLocked()
}

// killFailedBoot kills a run that did not boot. It waits for the processes to be gone but not
// for the ports to close: another process may hold them, which may be why the boot failed.
func (b *Broker) killFailedBoot() {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	_ = b.killProcs()
}

// killLocked kills the current run and waits for its ports to close; b.lifecycle held on entry.
func (b *Broker) killLocked() error {
	if err := b.killProcs(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	for _, addr := range []string{b.Addr(), b.TLSAddr(), b.distAddr()} {
		if err := waitPortClosed(ctx, addr); err != nil {
			return fmt.Errorf("integration: kill %s: %w", b.Name, err)
		}
	}
	return nil
}

// killProcs kills the current run and waits until its processes are gone; b.lifecycle held on
// entry.
func (b *Broker) killProcs() error {
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
		return fmt.Errorf("integration: kill %s: watchdog %d still running after %v", b.Name, p.pgid, killTimeout)
	}
	if err := waitGone(ctx, pids); err != nil {
		return fmt.Errorf("integration: kill %s: %w", b.Name, err)
	}
	b.setProc(nil)
	return nil
}

// SyncMetadata makes the node write its metadata log (Mnesia: queues, exchanges, bindings,
// users, vhosts) to disk, so that a following Kill loses none of it.
func (b *Broker) SyncMetadata(t testing.TB) {
	t.Helper()
	b.Ctl(t, "eval", "mnesia:sync_log().")
}

// Freeze stops beam.smp with SIGSTOP: its ports stay open and accept TCP connections, but the
// broker answers nothing, heartbeats included, until Thaw.
//
// amqp091-go clears its read deadline after connection.open-ok and arms it again only when the
// next frame arrives, so a connection frozen right after its handshake never times out. Make one
// round trip (open a channel) on a connection before freezing its broker.
func (b *Broker) Freeze(t testing.TB) {
	t.Helper()
	if err := b.signalBeam(syscall.SIGSTOP, true); err != nil {
		t.Fatal(err)
	}
}

// Thaw resumes a frozen beam.smp with SIGCONT.
func (b *Broker) Thaw(t testing.TB) {
	t.Helper()
	if err := b.signalBeam(syscall.SIGCONT, false); err != nil {
		t.Fatal(err)
	}
}

// signalBeam sends sig to beam.smp and waits until it is stopped (or running, if !stopped).
func (b *Broker) signalBeam(sig syscall.Signal, stopped bool) error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	p := b.current()
	if p == nil || p.hasExited() {
		return fmt.Errorf("integration: %v %s: not running", sig, b.Name)
	}
	pid := p.beamPID()
	if pid == 0 {
		return fmt.Errorf("integration: %v %s: no beam.smp in process group %d", sig, b.Name, p.pgid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("integration: %v %s (beam.smp %d): %w", sig, b.Name, pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	for {
		s, ok := readProcStat(pid)
		if !ok {
			return fmt.Errorf("integration: %v %s: beam.smp %d vanished", sig, b.Name, pid)
		}
		if (s.state == 'T') == stopped {
			return nil
		}
		if err := pause(ctx, nil); err != nil {
			return fmt.Errorf("integration: %v %s: beam.smp %d in state %c: %w", sig, b.Name, pid, s.state, err)
		}
	}
}

// BeamPID returns the pid of the node's beam.smp, 0 if the node is not running.
func (b *Broker) BeamPID() int {
	p := b.current()
	if p == nil {
		return 0
	}
	return p.beamPID()
}
