package rpc

import (
	"errors"
	"testing"

	"github.com/warrenmq/warren/actors/kazoo"
)

func TestCallRules_Take(t *testing.T) {
	good := kazoo.Envelope{"Result": "ok"}
	held := kazoo.Envelope{"Result": "ok", kazoo.HeaderDeferResponse: true}
	heldText := kazoo.Envelope{"Result": "ok", kazoo.HeaderDeferResponse: "true"}
	nack := kazoo.Envelope{"Result": "nack"}
	positive := func(e kazoo.Envelope) bool { return e.Text("Result") == "ok" }
	tests := []struct {
		name      string
		validate  func(kazoo.Envelope) bool
		threshold int
		given     []kazoo.Envelope
		want      []verdict
		answer    kazoo.Envelope
		negatives int
	}{
		{name: "without Validate the first reply answers", threshold: 2, given: []kazoo.Envelope{nack}, want: []verdict{answerNow}, answer: nack},
		{name: "a valid reply answers", validate: positive, threshold: 2, given: []kazoo.Envelope{good}, want: []verdict{answerNow}, answer: good},
		{name: "negatives below the threshold wait", validate: positive, threshold: 3, given: []kazoo.Envelope{nack, nack}, want: []verdict{waitMore, waitMore}, negatives: 2},
		{name: "the threshold's negative ends the call", validate: positive, threshold: 2, given: []kazoo.Envelope{nack, nack}, want: []verdict{waitMore, negativeEnough}, negatives: 2},
		{name: "a valid reply after negatives answers", validate: positive, threshold: 3, given: []kazoo.Envelope{nack, good}, want: []verdict{waitMore, answerNow}, answer: good, negatives: 1},
		{name: "a deferred reply is held", validate: positive, threshold: 2, given: []kazoo.Envelope{held}, want: []verdict{waitMore}, answer: held},
		{name: "Defer-Response as the string true is held too", threshold: 2, given: []kazoo.Envelope{heldText}, want: []verdict{waitMore}, answer: heldText},
		{name: "a plain valid reply beats the held one", validate: positive, threshold: 2, given: []kazoo.Envelope{held, good}, want: []verdict{waitMore, answerNow}, answer: good},
		{name: "at the threshold a held reply answers", validate: positive, threshold: 1, given: []kazoo.Envelope{held, nack}, want: []verdict{waitMore, answerNow}, answer: held, negatives: 1},
		{name: "a deferred negative is a negative", validate: positive, threshold: 2, given: []kazoo.Envelope{{"Result": "nack", kazoo.HeaderDeferResponse: true}}, want: []verdict{waitMore}, negatives: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &callRules{validate: tt.validate, threshold: tt.threshold}
			for i, env := range tt.given {
				if got := c.take(env); got != tt.want[i] {
					t.Fatalf("reply %d: verdict %d, want %d", i, got, tt.want[i])
				}
			}
			if a := c.answer(); a.Text("Result") != tt.answer.Text("Result") || a.Text(kazoo.HeaderDeferResponse) != tt.answer.Text(kazoo.HeaderDeferResponse) {
				t.Fatalf("answer %v, want %v", a, tt.answer)
			}
			err := c.negativeError("m", ErrNegativeReply)
			var ne *NegativeError
			switch {
			case tt.negatives == 0 && err != nil:
				t.Fatalf("negativeError = %v with no negative reply", err)
			case tt.negatives > 0 && (!errors.As(err, &ne) || ne.Count != tt.negatives || ne.Reply.Text("Result") != "nack" || !errors.Is(err, ErrNegativeReply)):
				t.Fatalf("negativeError = %v, want %d negatives", err, tt.negatives)
			}
		})
	}
}

func TestNegativeError_AtTheDeadlineIsATimeoutToo(t *testing.T) {
	c := &callRules{validate: func(kazoo.Envelope) bool { return false }, threshold: 3}
	c.take(kazoo.Envelope{"Event-Name": "nack"})
	err := c.negativeError("m", ErrCallTimeout)
	if !errors.Is(err, ErrCallTimeout) || !errors.Is(err, ErrNegativeReply) {
		t.Fatalf("negativeError at the deadline = %v; want both ErrCallTimeout and ErrNegativeReply", err)
	}
}
