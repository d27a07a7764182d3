package supervisor

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/registry"
)

// simpleSup is a simple_one_for_one supervisor: it starts children on demand
// (actors.SpawnChild) and stops them (actors.StopChild); its strategy
// restarts a failing child and escalates past the intensity. Kazoo's
// kz_amqp_connection_sup and kz_amqp_federated_listeners_sup.
//
// Owner:    its mailbox.
// Writes:   nothing but its own actors row (lifecycle middleware).
// Blocking: none.
type simpleSup struct {
	stopping map[string]*actor.PID // child path -> who asked for the stop
	// closing is set once the supervisor itself stops: protoactor stops the
	// children it has then, and would leave running a child spawned after.
	closing bool
}

func simpleSupProps(env *actors.Env, name string) *actor.Props {
	strategy := oneForOne{name: name, max: DefaultIntensity, period: DefaultPeriod}
	return actor.PropsFromProducer(func() actor.Actor { return &simpleSup{stopping: map[string]*actor.PID{}} },
		actor.WithSupervisor(strategy),
		actor.WithReceiverMiddleware(env.Lifecycle(registry.Supervisor, "simple_one_for_one "+fmt.Sprintf("%d/%v", strategy.max, strategy.period))))
}

func (s *simpleSup) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Stopping:
		s.closing = true
	case *actors.SpawnChild:
		if s.closing {
			ctx.Respond(&actors.ChildSpawned{Err: fmt.Errorf("warren: %s: stopping: %s not started", ctx.Self().Id, m.Name)})
			return
		}
		pid, err := ctx.SpawnNamed(m.Props, m.Name)
		if err != nil {
			err = fmt.Errorf("warren: %s: start %s: %w", ctx.Self().Id, m.Name, err)
		}
		ctx.Respond(&actors.ChildSpawned{PID: pid, Err: err})
	case *actors.StopChild:
		path := ctx.Self().Id + "/" + m.Name
		for _, c := range ctx.Children() {
			if c.Id == path {
				s.stopping[path] = ctx.Sender()
				ctx.Stop(c)
				return
			}
		}
		ctx.Respond(&actors.ChildStopped{Err: fmt.Errorf("warren: %s: no child %s", ctx.Self().Id, m.Name)})
	case *actor.Terminated:
		if who, ok := s.stopping[m.Who.Id]; ok {
			delete(s.stopping, m.Who.Id)
			if who != nil {
				ctx.Send(who, &actors.ChildStopped{})
			}
		}
	}
}
