package nullbroker

import (
	"testing"

	"github.com/warrenmq/warren/internal/testkit"
)

func TestChanged_IsClosedByAChangeAndNotByAReading(t *testing.T) {
	s := start(t, Config{})
	ch := open(t, dial(t, s))
	before := s.Changed()
	_, _, _ = s.Stats(), s.Queues(), s.Bindings()
	testkit.Quiet(t, before, "change signal after readings only")
	declare(t, ch, "q")
	testkit.Recv(t, before, wait, "change signal after queue.declare")
	if _, ok := s.Queue("q"); !ok {
		t.Fatal("the signal fired, the queue is not there")
	}
}

func TestChanged_WakesAWaiterForEachStep(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s)
	testkit.Await(t, wait, "one connection", s.Changed, func() bool { return s.Stats().Connections == 1 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	testkit.Await(t, wait, "no connection", s.Changed, func() bool { return s.Stats().Connections == 0 })
}
