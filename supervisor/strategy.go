package supervisor

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Kazoo's supervisors all allow 5 restarts in 10 seconds.
const (
	DefaultIntensity = 5
	DefaultPeriod    = 10 * time.Second
)

// IntensityError is the failure a supervisor escalates when one of its
// children fails more than Max times within Period.
type IntensityError struct {
	Supervisor string
	Child      string
	Max        int
	Period     time.Duration
	Reason     any
}

func (e *IntensityError) Error() string {
	return fmt.Sprintf("warren: %s: child %s failed more than %d times in %v (last: %v)", e.Supervisor, e.Child, e.Max, e.Period, e.Reason)
}

// oneForOne restarts the failing child only, and escalates once the child
// fails more than max times within period (OTP's one_for_one).
type oneForOne struct {
	name   string
	max    int
	period time.Duration
}

var _ actor.SupervisorStrategy = oneForOne{}

func (s oneForOne) String() string {
	return fmt.Sprintf("one_for_one %d/%v", s.max, s.period)
}

func (s oneForOne) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	rs.Fail()
	if rs.NumberOfFailures(s.period) > s.max {
		rs.Reset()
		sys.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: actor.EscalateDirective})
		sup.EscalateFailure(&IntensityError{Supervisor: s.name, Child: child.Id, Max: s.max, Period: s.period, Reason: reason}, msg)
		return
	}
	sys.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: actor.RestartDirective})
	sup.RestartChildren(child)
}

// guardian is the strategy above the root: the root's failure stops the
// tree and is reported through Tree.Done.
type guardian struct{ onFail func(reason any) }

func (g *guardian) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	sys.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: actor.StopDirective})
	g.onFail(reason)
	sup.StopChildren(child)
}
