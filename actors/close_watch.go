package actors

import (
	"reflect"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
)

// closeWatchBuffer is how many channels the assignments actor may hand a
// close watch ahead of it (it takes them as fast as it selects).
const closeWatchBuffer = 256

// startCloseWatch starts the goroutine that waits, for one connection, on
// the close notification of each channel handed to it, and reports each
// close to the assignments actor self as *channelClosed — one goroutine per
// connection instead of one per channel (an idle listener's channel cost
// one more goroutine). It ends when the tree stops.
func startCloseWatch(env *Env, self *actor.PID) chan<- *openedChannel {
	add := make(chan *openedChannel, closeWatchBuffer)
	env.Go(func() {
		cases := []reflect.SelectCase{
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(add)},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(env.Stopping)},
		}
		watched := []*openedChannel{nil, nil} // by case index
		for {
			i, v, ok := reflect.Select(cases)
			switch i {
			case 0:
				ch := v.Interface().(*openedChannel)
				cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch.closed)})
				watched = append(watched, ch)
			case 1:
				return
			default:
				var err *amqp.Error // nil: closed by the client, gracefully
				if ok {
					err = v.Interface().(*amqp.Error)
				}
				env.Send(self, &channelClosed{id: watched[i].id, err: err})
				last := len(cases) - 1
				cases[i], watched[i] = cases[last], watched[last]
				cases, watched = cases[:last], watched[:last]
			}
		}
	})
	return add
}
