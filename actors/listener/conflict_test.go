package listener

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

func TestConflictHint(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"an exchange of another type", &amqp.Error{Code: amqp.PreconditionFailed, Recover: true,
			Reason: "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'callmgr' in vhost '/': received 'fanout' but current is 'topic'"},
			"exchange callmgr exists with other flags (type/durable): give the Binding the same Kind and Durable"},
		{"a queue with other arguments", &amqp.Error{Code: amqp.PreconditionFailed, Recover: true,
			Reason: "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q1' in vhost '/': received 'none' but current is '1000'"},
			"queue q1 exists with other flags or arguments"},
		{"another 406", &amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - unknown delivery tag 4"}, ""},
		{"a missing exchange", &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no exchange 'x' in vhost '/'"}, ""},
		{"an error without a reason", errNoReason, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := conflictHint(&replayError{cmd: command{kind: cmdBind}, err: tt.err})
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Fatalf("conflictHint = %q, want %q", got, tt.want)
			}
		})
	}
}

var errNoReason = &amqp.Error{Code: 0, Reason: "io"}

// A 406 on an exchange declare cannot change by retrying: the first
// refusal says failed, with the hint, whether the replay's result or the
// channel's close comes first; the same refusal is logged at Error once.
func TestListenerFSM_AConflictingExchangeFailsAtTheFirstRefusal(t *testing.T) {
	conflict := &amqp.Error{Code: amqp.PreconditionFailed, Recover: true,
		Reason: "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.topic' in vhost '/': received 'false' but current is 'true'"}
	replayErr := &replayError{cmd: command{kind: cmdBind, binding: Binding{Exchange: "amq.topic", Declare: true}}, queue: "q", err: conflict}
	hint := "exchange amq.topic exists with other flags (type/durable)"

	f := fsmFixtures()["declaring"]
	f, effs := step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, err: replayErr}})
	if st := lastState(t, effs); st.state != registry.ListenerFailed || !strings.Contains(st.why, hint) || f.Refusals != 1 {
		t.Fatalf("after one refusal: %s", render(f, effs))
	}
	if lv := logLevels(effs, effLog); len(lv) != 1 || lv[0] != "ERROR" {
		t.Fatalf("log levels %v, want one ERROR", lv)
	}
	f, effs = step(t, f, levent{kind: evLost, id: f.ChID, err: conflict})
	if lv := logLevels(effs, effDropChannel); len(lv) != 1 || lv[0] != "DEBUG" {
		t.Fatalf("the channel's loss to the refusal logged: %v, want at DEBUG", lv)
	}
	f, _ = step(t, f, levent{kind: evAssigned, assigned: &actors.ChannelAssigned{ID: "c2"}})
	f, effs = step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, err: replayErr}})
	if lv := logLevels(effs, effLog); len(lv) != 1 || lv[0] != "DEBUG" {
		t.Fatalf("the same refusal again logged %v, want at DEBUG", lv)
	}

	t.Run("a drain begun before the channel's close", func(t *testing.T) {
		// warren listen drains as soon as it reads the failed state: the
		// close that follows is the same refusal, not news.
		f := fsmFixtures()["declaring"]
		f, _ = step(t, f, levent{kind: evTopology, topo: &topologyDone{gen: f.Gen, setup: f.Setup, err: replayErr}})
		f, _ = step(t, f, levent{kind: evDrain})
		if f.State != registry.ListenerDraining {
			t.Fatalf("after the drain: %s", render(f, nil))
		}
		got, effs := step(t, f, levent{kind: evLost, id: f.ChID, err: conflict})
		if lv := logLevels(effs, effDropChannel); len(lv) != 1 || lv[0] != "DEBUG" {
			t.Fatalf("the channel's loss to the refusal during a drain logged %v, want at DEBUG: %s", lv, render(got, effs))
		}
	})

	t.Run("the channel's close first", func(t *testing.T) {
		f := fsmFixtures()["declaring"]
		got, effs := step(t, f, levent{kind: evLost, id: f.ChID, err: conflict})
		if st := lastState(t, effs); st.state != registry.ListenerFailed || !strings.Contains(st.why, hint) {
			t.Fatalf("got %s", render(got, effs))
		}
		if lv := logLevels(effs, effDropChannel); len(lv) != 1 || lv[0] != "ERROR" {
			t.Fatalf("the refusal logged %v, want once at ERROR", lv)
		}
	})
}

// logLevels lists the levels of effs' effects of kind.
func logLevels(effs []effect, kind effKind) []string {
	var out []string
	for _, e := range effs {
		if e.kind == kind {
			out = append(out, e.level.String())
		}
	}
	return out
}
