package rpc

import (
	"fmt"
	"testing"
)

// Replies for a call whose chan is full wait in its overflow, in order,
// for the caller to take after its next receive; only a call nobody
// waits for, or one flooded past maxOverflow, loses replies (counted
// late).
func TestLane_FullCallKeepsRepliesInOrder(t *testing.T) {
	l := newWorkerLane("w")
	c := l.register("k", 1)
	for i := range maxOverflow + 2 { // 1 in the chan, maxOverflow in the overflow, 1 too many
		l.deliver("k", reply{body: fmt.Appendf(nil, "r%d", i)})
	}
	if got := string((<-c).body); got != "r0" {
		t.Fatalf("first receive %q, want r0", got)
	}
	q := l.overflowOf("k")
	if len(q) != maxOverflow || string(q[0].body) != "r1" || string(q[len(q)-1].body) != fmt.Sprintf("r%d", maxOverflow) {
		t.Fatalf("overflow: %d replies, %q … %q", len(q), q[0].body, q[len(q)-1].body)
	}
	if r, late := l.replies.Load(), l.late.Load(); r != maxOverflow+1 || late != 1 {
		t.Fatalf("replies %d, late %d; want %d and 1", r, late, maxOverflow+1)
	}
	if q := l.overflowOf("k"); q != nil {
		t.Fatalf("overflow taken twice: %d more", len(q))
	}
	l.deliver("k", reply{body: []byte("next")}) // the chan has room again
	if got := string((<-c).body); got != "next" {
		t.Fatalf("receive %q, want next", got)
	}
	l.unregister("k")
	l.deliver("k", reply{body: []byte("after")})
	if late := l.late.Load(); late != 2 {
		t.Fatalf("a reply after the call ended: late %d, want 2", late)
	}
}
