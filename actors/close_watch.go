package actors

import (
	"reflect"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	amqp "github.com/rabbitmq/amqp091-go"
)

// closeWatchShard is how many channels one goroutine of a close watch
// waits on at most. A select's cost grows with its cases and a shard
// selects again for each channel handed to it and each close: one
// goroutine over all of a connection's 2,047 channels made bringing up
// 10,000 listeners spend a fifth of the process's CPU in reflect.Select
// (issue 25's scale profile). 256 keeps a select in microseconds and adds
// at most 7 goroutines to a full connection (2,047 listeners), none to a
// connection of fewer than 256 channels.
const closeWatchShard = 256

// closeWatch reports, for one connection, the close of each channel handed
// to it to the assignments actor (as *channelClosed), in shards of at most
// closeWatchShard channels, each one goroutine: not one goroutine per
// channel (an idle listener's channel would cost one more). Its shards end
// when the tree stops. Only the assignments actor calls watch.
type closeWatch struct {
	env    *Env
	self   *actor.PID
	shards []*watchShard
}

type watchShard struct {
	add chan *openedChannel // buffered closeWatchShard: a send never waits
	n   atomic.Int32        // channels handed to the shard and not closed yet
}

func newCloseWatch(env *Env, self *actor.PID) *closeWatch {
	return &closeWatch{env: env, self: self}
}

// watch hands ch to a shard with room, starting one if none has.
func (w *closeWatch) watch(ch *openedChannel) {
	for _, s := range w.shards {
		if s.n.Load() < closeWatchShard {
			s.n.Add(1) // only watch adds, so the room checked is still there
			s.add <- ch
			return
		}
	}
	s := &watchShard{add: make(chan *openedChannel, closeWatchShard)}
	w.shards = append(w.shards, s)
	w.env.Go(func() { s.run(w.env, w.self) })
	s.n.Add(1)
	s.add <- ch
}

// run waits on the close of every channel handed to s, until the tree
// stops. A select costs in proportion to its cases, so each wake takes in
// all it can before selecting again: every channel handed over meanwhile
// (a connection's channels come in bursts: its listeners after a broker's
// restart), and, after a close, every other channel closed by then (a
// connection's loss closes them all at once). One select per channel
// made a restart of 1,000 listeners spend 8 % of the process's CPU here.
func (s *watchShard) run(env *Env, self *actor.PID) {
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.add)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(env.Stopping)},
	}
	watched := []*openedChannel{nil, nil} // by case index
	take := func(ch *openedChannel) {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch.closed)})
		watched = append(watched, ch)
	}
	closed := func(i int, err *amqp.Error) {
		s.n.Add(-1) // before the report: its reader sees the room freed
		env.Send(self, &channelClosed{id: watched[i].id, err: err})
		last := len(cases) - 1
		cases[i], watched[i] = cases[last], watched[last]
		cases, watched = cases[:last], watched[:last]
	}
	for {
		i, v, ok := reflect.Select(cases)
		switch i {
		case 0:
			take(v.Interface().(*openedChannel))
			for more := true; more; {
				select {
				case ch := <-s.add:
					take(ch)
				default:
					more = false
				}
			}
		case 1:
			return
		default:
			var err *amqp.Error // nil: closed by the client, gracefully
			if ok {
				err = v.Interface().(*amqp.Error)
			}
			closed(i, err)
			for j := len(cases) - 1; j >= 2; j-- { // from the end: closed moves the last case into j
				select {
				case e, ok := <-watched[j].closed:
					if !ok {
						e = nil
					}
					closed(j, e)
				default:
				}
			}
		}
	}
}
