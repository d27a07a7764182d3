package actors

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/warrenmq/warren/registry"
)

const (
	dis  = registry.Disconnected
	cing = registry.Connecting
	con  = registry.Connected
	blk  = registry.Blocked
	fail = registry.Failed
)

// TestConnFSM_EveryStateAndEvent walks every (state, event) pair: what is
// not listed must change nothing and ask for nothing.
func TestConnFSM_EveryStateAndEvent(t *testing.T) {
	type want struct {
		state registry.ConnState
		tries int
		acts  connAction
	}
	listed := map[registry.ConnState]map[connEvent]want{
		dis: {
			evDial: {cing, 3, actCancelDial | actDial | actReport},
			evStop: {dis, 2, actTeardown | actCancelDial},
		},
		fail: {
			evDial: {cing, 3, actCancelDial | actDial | actReport},
			evStop: {dis, 2, actTeardown | actCancelDial},
		},
		cing: {
			evDialed:      {con, 0, actAdopt | actReport},
			evDialFailed:  {dis, 2, actRetry | actReport},
			evPortClosed:  {dis, 2, actRetry | actProbe | actReport},
			evDialRefused: {fail, 2, actRetryMax | actReport},
			evStop:        {dis, 2, actTeardown | actCancelDial},
		},
		con: {
			evBlocked: {blk, 2, actReport},
			evLost:    {dis, 0, actTeardown | actRetryFirst | actReport},
			evStop:    {dis, 2, actTeardown | actCancelDial},
		},
		blk: {
			evUnblocked: {con, 2, actReport},
			evLost:      {dis, 0, actTeardown | actRetryFirst | actReport},
			evStop:      {dis, 2, actTeardown | actCancelDial},
		},
	}
	for from, events := range listed {
		for ev := range connEventCount {
			t.Run(fmt.Sprintf("%s/%s", from, ev), func(t *testing.T) {
				w, ok := events[ev]
				if !ok {
					w = want{from, 2, 0}
				}
				got, acts := connFSM{State: from, Tries: 2}.next(ev)
				if got.State != w.state || got.Tries != w.tries || acts != w.acts {
					t.Fatalf("next(%s, %s) = %s tries %d acts %b, want %s tries %d acts %b",
						from, ev, got.State, got.Tries, acts, w.state, w.tries, w.acts)
				}
			})
		}
	}
}

func TestConnFSM_GivesUpAfterMaxAttempts(t *testing.T) {
	f := connFSM{State: dis, MaxAttempts: 2}
	var acts connAction
	for attempt := 1; attempt <= 2; attempt++ {
		f, _ = f.next(evDial)
		if f.Tries != attempt {
			t.Fatalf("tries = %d after dial %d", f.Tries, attempt)
		}
		f, acts = f.next(evDialFailed)
	}
	if f.State != fail || !f.GaveUp || acts != actGiveUp|actReport {
		t.Fatalf("after 2 failed dials: %+v acts %b, want failed and given up", f, acts)
	}
	if g, acts := f.next(evDial); g != f || acts != 0 {
		t.Fatalf("a dial after giving up did something: %+v %b", g, acts)
	}
	// A permanent refusal on the last attempt gives up too.
	f = connFSM{State: cing, Tries: 1, MaxAttempts: 1}
	if f, acts = f.next(evDialRefused); !f.GaveUp || acts != actGiveUp|actReport {
		t.Fatalf("refused on the last attempt: %+v %b", f, acts)
	}
}

// Only a wait that began with a refused TCP connect has the port probed;
// every failed dial counts toward the backoff, whatever stage failed.
func TestConnFSM_OnlyARefusedConnectProbes(t *testing.T) {
	for ev := range connEventCount {
		for _, from := range []registry.ConnState{dis, cing, con, blk, fail} {
			_, acts := connFSM{State: from, Tries: 1}.next(ev)
			if probes := acts.has(actProbe); probes != (from == cing && ev == evPortClosed) {
				t.Errorf("next(%s, %s) probes = %v", from, ev, probes)
			}
		}
	}
	f := connFSM{State: dis}
	for i, ev := range []connEvent{evDialFailed, evPortClosed, evDialFailed, evDialFailed} {
		f, _ = f.next(evDial)
		var acts connAction
		f, acts = f.next(ev)
		if f.Tries != i+1 || !acts.has(actRetry) {
			t.Fatalf("after failed dial %d (%s): tries %d acts %b, want tries %d and a retry", i+1, ev, f.Tries, acts, i+1)
		}
	}
}

func TestDialEvent_TellsTheStageThatFailed(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}
	wrap := func(err error) error { return &BrokerError{Broker: "b:5672", Op: "dial", Err: err} }
	tests := []struct {
		name  string
		err   error
		stage dialStage
		want  connEvent
	}{
		{"no error", nil, stageSetup, evDialed},
		{"TCP connect refused", wrap(refused), stageConnect, evPortClosed},
		{"TCP connect timed out", wrap(timeout), stageConnect, evDialFailed},
		{"connection reset during the handshake", wrap(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), stageHandshake, evDialFailed},
		{"EOF during the handshake (accept and close)", wrap(io.EOF), stageHandshake, evDialFailed},
		{"TLS record header from a plain port", wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), stageHandshake, evDialFailed},
		{"refused after the TCP connect is not a closed port", wrap(refused), stageHandshake, evDialFailed},
		{"frame error", wrap(amqp.ErrFrame), stageHandshake, evDialFailed},
		{"access refused", wrap(&amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED"}), stageHandshake, evDialRefused},
		{"control channel failed", &BrokerError{Broker: "b:5672", Op: "open control channel", Err: amqp.ErrClosed}, stageSetup, evDialFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dialEvent(tt.err, tt.stage); got != tt.want {
				t.Fatalf("dialEvent(%v, %s) = %s, want %s", tt.err, tt.stage, got, tt.want)
			}
		})
	}
	if stageSetup.String() != "setup" || dialStage(9).String() != "unknown" {
		t.Error("stage names")
	}
}

func TestConnFSM_ReconnectCycle(t *testing.T) {
	f := connFSM{State: dis}
	steps := []struct {
		ev   connEvent
		want registry.ConnState
	}{
		{evDial, cing}, {evDialFailed, dis}, {evDial, cing}, {evDialed, con},
		{evBlocked, blk}, {evBlocked, blk}, {evUnblocked, con}, {evLost, dis},
		{evDial, cing}, {evDialRefused, fail}, {evDial, cing}, {evPortClosed, dis}, {evDial, cing}, {evDialed, con}, {evStop, dis},
	}
	for i, s := range steps {
		f, _ = f.next(s.ev)
		if f.State != s.want {
			t.Fatalf("step %d (%s): state %s, want %s", i, s.ev, f.State, s.want)
		}
	}
}

func TestConnEvent_String(t *testing.T) {
	for ev := range connEventCount {
		if ev.String() == "unknown" || ev.String() == "" {
			t.Errorf("event %d has no name", ev)
		}
	}
	if connEventCount.String() != "unknown" {
		t.Error("an out-of-range event has a name")
	}
}

func TestConnAction_Has(t *testing.T) {
	a := actTeardown | actRetryFirst
	if !a.has(actTeardown) || !a.has(actTeardown|actRetryFirst) || a.has(actDial) || a.has(actTeardown|actDial) {
		t.Fatalf("has is wrong for %b", a)
	}
}
