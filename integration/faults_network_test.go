package integration

import (
	"testing"
	"time"

	"github.com/warrenmq/warren/registry"
)

// The network faults of the fault suite, injected by toxiproxy between
// Warren and a real broker. Every scenario runs confirmed and
// fire-and-forget publishers (1 s deadlines) and a listener, and asserts:
// every confirmed message received, no call past its deadline, the
// listener consuming again, nothing left after Shutdown.

// A path that stops passing packets (no FIN, no RST) for some seconds,
// new connections included, then heals. Writes block on full socket
// buffers; Warren aborts the socket a write or a close outlives, the
// heartbeat (1 s) finds the dead link, dials time out until the path heals.
func TestFault_CutWithoutFINThenHeals(t *testing.T) {
	r := newFaultRig(t, "cut without FIN, heals", viaProxy())
	stop := r.load(2, 2, time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
	heal := r.px.Cut(t)
	r.waitDown(t, registry.Publish, 20*time.Second)
	r.waitDown(t, registry.Consume, 20*time.Second)
	heal()
	r.l.healed()
	r.waitUp(t, registry.Publish, 30*time.Second)
	r.confirmedMore(t, 50, 30*time.Second, "confirmed publishes again")
	r.consumingAgain(t, 30*time.Second)
	r.finish(t, stop)
}

// The route dies under the established connections and stays dead (a
// NAT entry dropped); new connections pass. Recovery is the time from the
// cut to the first confirmed publish on a new connection.
func TestFault_CutThatNeverHeals(t *testing.T) {
	r := newFaultRig(t, "cut that never heals", viaProxy())
	stop := r.load(2, 2, time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
	r.px.CutExisting(t)
	r.l.healed()
	r.waitDown(t, registry.Publish, 20*time.Second)
	r.waitUp(t, registry.Publish, 30*time.Second)
	r.confirmedMore(t, 50, 30*time.Second, "confirmed publishes on a new connection")
	r.consumingAgain(t, 30*time.Second)
	r.finish(t, stop)
}

// 150 ms (± 50) each way and 256 KB/s (above the offered load, so that
// the link is slow, not saturated): calls slow down, none outlives its
// deadline, the heartbeat does not mistake latency for a dead link.
func TestFault_LatencyAndBandwidth(t *testing.T) {
	r := newFaultRig(t, "latency 150ms + 256KB/s", viaProxy())
	stop := r.load(2, 1, time.Second)
	r.confirmedMore(t, 50, 10*time.Second, "publishes flowing")
	slow := r.px.Latency(t, 150, 50)
	narrow := r.px.Bandwidth(t, 256)
	r.confirmedMore(t, 20, 20*time.Second, "confirmed publishes through the slow link")
	for _, role := range []registry.ConnRole{registry.Publish, registry.Consume} {
		if c, _ := r.tree.Registry().Connection(r.connID(t, role)); !c.Available {
			t.Errorf("%s connection dropped under latency: %s", role, c.LastError)
		}
	}
	narrow()
	slow()
	r.l.healed()
	r.confirmedMore(t, 50, 20*time.Second, "full speed again")
	r.finish(t, stop)
}
