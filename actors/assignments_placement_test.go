package actors

import (
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/registry"
)

var (
	fl = registry.Float
	st = registry.Sticky
)

func TestPickBroker(t *testing.T) {
	c := registry.Consume
	brokers := []brokerSlot{
		{ID: "b:2", Zone: "local", Role: c, Up: true},
		{ID: "a:1", Zone: "local", Role: c, Up: true},
		{ID: "c:3", Zone: "local", Role: c, Up: false},
		{ID: "r:1", Zone: "remote", Role: c, Up: true},
		{ID: "s:1", Zone: "remote", Role: c, Up: false},
		{ID: "b:2~publish", Zone: "local", Role: registry.Publish, Up: true},
		{ID: "c:3~publish", Zone: "local", Role: registry.Publish, Up: false},
	}
	tests := []struct {
		name  string
		c     consumerSlot
		avoid string
		want  string
	}{
		{"float takes the zone's primary (smallest up id)", consumerSlot{Type: fl, Zone: "local", Role: c}, "", "a:1"},
		{"float avoids the broker that went down", consumerSlot{Type: fl, Zone: "local", Role: c}, "a:1", "b:2"},
		{"float stays in its zone", consumerSlot{Type: fl, Zone: "remote", Role: c}, "", "r:1"},
		{"float with its zone all down waits", consumerSlot{Type: fl, Zone: "remote", Role: c}, "r:1", ""},
		{"float of an unknown zone waits", consumerSlot{Type: fl, Zone: "mars", Role: c}, "", ""},
		{"sticky takes its broker when up", consumerSlot{Type: st, Sticky: "r:1", Zone: "local"}, "", "r:1"},
		{"sticky ignores avoid (it has no other)", consumerSlot{Type: st, Sticky: "b:2"}, "b:2", "b:2"},
		{"sticky waits for its broker down", consumerSlot{Type: st, Sticky: "c:3"}, "", ""},
		{"sticky waits for an unknown broker", consumerSlot{Type: st, Sticky: "x:9"}, "", ""},
		{"a publishing float takes a publishing connection", consumerSlot{Type: fl, Zone: "local", Role: registry.Publish}, "", "b:2~publish"},
		{"a consuming float never takes a publishing connection", consumerSlot{Type: fl, Zone: "local", Role: registry.Consume}, "a:1", "b:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickBroker(tt.c, brokers, tt.avoid); got != tt.want {
				t.Fatalf("pickBroker = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPickBroker_Draining(t *testing.T) {
	c := registry.Consume
	brokers := []brokerSlot{
		{ID: "a:1", Zone: "local", Role: c, Up: true, Draining: true},
		{ID: "b:2", Zone: "local", Role: c, Up: true},
		{ID: "c:3", Zone: "local", Role: c, Up: false},
		{ID: "d:4", Zone: "local", Role: c, Up: true, Draining: true},
		{ID: "r:1", Zone: "remote", Role: c, Up: true, Draining: true},
	}
	tests := []struct {
		name  string
		c     consumerSlot
		avoid string
		want  string
	}{
		{"float skips the draining primary", consumerSlot{Type: fl, Zone: "local", Role: c}, "", "b:2"},
		{"float skips the draining broker it moves off", consumerSlot{Type: fl, Zone: "local", Role: c, Held: "a:1", Moving: true}, "a:1", "b:2"},
		{"float takes a draining broker when no other is up", consumerSlot{Type: fl, Zone: "local", Role: c}, "b:2", "a:1"},
		{"float of a zone with only a draining broker takes it", consumerSlot{Type: fl, Zone: "remote", Role: c}, "", "r:1"},
		{"sticky stays on its draining broker", consumerSlot{Type: st, Sticky: "a:1"}, "", "a:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickBroker(tt.c, brokers, tt.avoid); got != tt.want {
				t.Fatalf("pickBroker = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDrainRefusal(t *testing.T) {
	c, p := registry.Consume, registry.Publish
	tests := []struct {
		name    string
		brokers []brokerSlot
		conns   []string
		want    string
	}{
		{"another broker of the zone is up", []brokerSlot{
			{ID: "a:1", Zone: "local", Role: c, Up: true}, {ID: "b:2", Zone: "local", Role: c, Up: true}}, []string{"a:1"}, ""},
		{"the zone's last broker", []brokerSlot{
			{ID: "a:1", Zone: "local", Role: c, Up: true}, {ID: "b:2", Zone: "local", Role: c, Up: false}}, []string{"a:1"}, "local"},
		{"the other one draining too", []brokerSlot{
			{ID: "a:1", Zone: "local", Role: c, Up: true}, {ID: "b:2", Zone: "local", Role: c, Up: true, Draining: true}}, []string{"a:1"}, "local"},
		{"the other up broker is of another zone", []brokerSlot{
			{ID: "a:1", Zone: "local", Role: c, Up: true}, {ID: "r:1", Zone: "remote", Role: c, Up: true}}, []string{"a:1"}, "local"},
		{"its publishing connection has no other", []brokerSlot{
			{ID: "a:1", Zone: "local", Role: c, Up: true}, {ID: "a:1~publish", Zone: "local", Role: p, Up: true},
			{ID: "b:2", Zone: "local", Role: c, Up: true}, {ID: "b:2~publish", Zone: "local", Role: p, Up: false}}, []string{"a:1", "a:1~publish"}, "local"},
		{"a broker down while another is up", []brokerSlot{
			{ID: "a:1", Zone: "local", Role: c, Up: false}, {ID: "b:2", Zone: "local", Role: c, Up: true}}, []string{"a:1"}, ""},
		{"a broker never seen up", []brokerSlot{{ID: "b:2", Zone: "local", Role: c, Up: true}}, []string{"a:1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := drainRefusal(tt.brokers, tt.conns); got != tt.want {
				t.Fatalf("drainRefusal = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNextWaiter(t *testing.T) {
	b := brokerSlot{ID: "a:1", Zone: "local", Up: true}
	tests := []struct {
		name      string
		consumers []consumerSlot
		want      int
	}{
		{"a float of the other role does not take it", []consumerSlot{{Type: fl, Zone: "local", Role: registry.Publish}}, -1},
		{"nobody waits: to the pool", []consumerSlot{{Type: fl, Zone: "local", Held: "a:1"}}, -1},
		{"the oldest waiter of the zone", []consumerSlot{
			{Type: fl, Zone: "local", Seq: 5}, {Type: fl, Zone: "local", Seq: 2}, {Type: fl, Zone: "local", Seq: 9}}, 1},
		{"a float wanting another broker does not take it", []consumerSlot{{Type: fl, Zone: "local", Want: "b:2"}}, -1},
		{"a float of another zone does not take it", []consumerSlot{{Type: fl, Zone: "remote"}}, -1},
		{"a sticky for it takes it", []consumerSlot{{Type: st, Sticky: "a:1", Want: "a:1"}}, 0},
		{"a sticky for another broker does not", []consumerSlot{{Type: st, Sticky: "b:2", Zone: "local"}}, -1},
		{"a paused consumer does not", []consumerSlot{{Type: fl, Zone: "local", Paused: true}}, -1},
		{"a float wanting it by name", []consumerSlot{{Type: fl, Zone: "local", Want: "a:1", Seq: 3}, {Type: fl, Zone: "other", Seq: 1}}, 0},
		{"a moving float wanting it takes it", []consumerSlot{{Type: fl, Zone: "local", Held: "b:2", Moving: true, Want: "a:1"}}, 0},
		{"a moving float wanting another does not", []consumerSlot{{Type: fl, Zone: "local", Held: "b:2", Moving: true, Want: "c:3"}}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextWaiter(tt.consumers, b); got != tt.want {
				t.Fatalf("nextWaiter = %d, want %d", got, tt.want)
			}
		})
	}
	drained := brokerSlot{ID: "a:1", Zone: "local", Up: true, Draining: true}
	for _, tt := range []struct {
		name      string
		consumers []consumerSlot
		want      int
	}{
		{"a float of the zone does not take a draining broker's channel", []consumerSlot{{Type: fl, Zone: "local"}}, -1},
		{"a float wanting it by name does", []consumerSlot{{Type: fl, Zone: "local"}, {Type: fl, Zone: "local", Want: "a:1"}}, 1},
		{"its sticky does", []consumerSlot{{Type: st, Sticky: "a:1", Want: "a:1"}}, 0},
	} {
		t.Run("draining: "+tt.name, func(t *testing.T) {
			if got := nextWaiter(tt.consumers, drained); got != tt.want {
				t.Fatalf("nextWaiter = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestChannelsToAsk(t *testing.T) {
	cs := []consumerSlot{
		{Want: "a:1"}, {Want: "a:1"}, {Want: "a:1", Paused: true}, {Want: "a:1", Held: "a:1"}, {Want: "b:2"}, {},
	}
	tests := []struct {
		name                    string
		opening, pooled, target int
		want                    int
	}{
		{"two waiters, no pool", 0, 0, 0, 2},
		{"one already opening", 1, 0, 0, 1},
		{"all on their way", 2, 0, 0, 0},
		{"more opening than needed", 5, 0, 0, 0},
		{"waiters plus an empty pool of 10", 0, 0, 10, 12},
		{"pool short by 3", 0, 7, 10, 5},
		{"pool full", 2, 10, 10, 0},
		{"pool over target", 0, 12, 10, 2},
	}
	for _, tt := range tests {
		if got := channelsToAsk(cs, "a:1", tt.opening, tt.pooled, tt.target); got != tt.want {
			t.Errorf("%s: channelsToAsk = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSurplus(t *testing.T) {
	for _, tt := range []struct {
		pooled, target int
		want           bool
	}{{0, 10, false}, {9, 10, false}, {10, 10, true}, {11, 10, true}, {0, 0, true}} {
		if got := surplus(tt.pooled, tt.target); got != tt.want {
			t.Errorf("surplus(%d of %d) = %v, want %v", tt.pooled, tt.target, got, tt.want)
		}
	}
}

func TestWantOnUp(t *testing.T) {
	b := brokerSlot{ID: "a:1", Zone: "local", Up: true}
	cs := []consumerSlot{
		{Key: "float-waiting", Type: fl, Zone: "local"},
		{Key: "float-other-zone", Type: fl, Zone: "remote"},
		{Key: "float-wants-other", Type: fl, Zone: "local", Want: "b:2"},
		{Key: "float-holding", Type: fl, Zone: "local", Held: "b:2"},
		{Key: "float-paused", Type: fl, Zone: "local", Paused: true},
		{Key: "sticky", Type: st, Zone: "local", Sticky: "a:1", Want: "a:1"},
	}
	if got, want := wantOnUp(cs, b, []brokerSlot{b}), []string{"float-waiting"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("wantOnUp = %v, want %v", got, want)
	}
}

func TestWantOnUp_Draining(t *testing.T) {
	b := brokerSlot{ID: "a:1", Zone: "local", Up: true, Draining: true}
	cs := []consumerSlot{
		{Key: "float-waiting", Type: fl, Zone: "local"},
		{Key: "float-moving", Type: fl, Zone: "local", Held: "c:3", Moving: true},
	}
	tests := []struct {
		name    string
		brokers []brokerSlot
		want    []string
	}{
		{"another broker of the zone up: nobody", []brokerSlot{b, {ID: "b:2", Zone: "local", Up: true}}, nil},
		{"the other one down: the waiting float, not the moving one", []brokerSlot{b, {ID: "b:2", Zone: "local", Up: false}}, []string{"float-waiting"}},
		{"the other one draining too: the same", []brokerSlot{b, {ID: "b:2", Zone: "local", Up: true, Draining: true}}, []string{"float-waiting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wantOnUp(cs, b, tt.brokers); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("wantOnUp = %v, want %v", got, tt.want)
			}
		})
	}
	// A moving float waiting on its zone takes a broker that is not draining.
	up := brokerSlot{ID: "b:2", Zone: "local", Up: true}
	if got, want := wantOnUp(cs, up, []brokerSlot{b, up}), []string{"float-waiting", "float-moving"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("wantOnUp of a broker not draining = %v, want %v", got, want)
	}
}

func TestMovesOnDrain(t *testing.T) {
	cs := []consumerSlot{
		{Key: "mover-late", Type: fl, Zone: "local", Held: "a:1", CanMove: true, Seq: 7},
		{Key: "loser", Type: fl, Zone: "local", Held: "a:1", Seq: 3},
		{Key: "holds-other", Type: fl, Zone: "local", Held: "b:2", CanMove: true, Seq: 1},
		{Key: "waits-for-it", Type: fl, Zone: "local", Want: "a:1", Seq: 5},
		{Key: "moving-to-it", Type: fl, Zone: "local", Held: "c:3", Moving: true, Want: "a:1", Seq: 6},
		{Key: "already-moving", Type: fl, Zone: "local", Held: "a:1", Moving: true, CanMove: true, Want: "b:2", Seq: 8},
		{Key: "sticky-holds", Type: st, Sticky: "a:1", Held: "a:1", CanMove: true, Seq: 2},
		{Key: "sticky-waits", Type: st, Sticky: "a:1", Want: "a:1", Seq: 4},
		{Key: "paused", Type: fl, Zone: "local", Paused: true, Want: "a:1", Seq: 9},
	}
	want := []drainStep{{"loser", drainLose}, {"waits-for-it", drainReplace}, {"moving-to-it", drainReplace}, {"mover-late", drainMove}}
	if got := movesOnDrain(cs, "a:1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("movesOnDrain = %v, want %v", got, want)
	}
	if got := movesOnDrain(cs, "z:9"); len(got) != 0 {
		t.Fatalf("a broker nobody uses moved %v", got)
	}
}

func TestMovesOnDown(t *testing.T) {
	cs := []consumerSlot{
		{Key: "holds-late", Type: fl, Zone: "local", Held: "a:1", Seq: 7},
		{Key: "holds-other", Type: fl, Zone: "local", Held: "b:2", Seq: 1},
		{Key: "waits-float", Type: fl, Zone: "local", Want: "a:1", Seq: 3},
		{Key: "waits-sticky", Type: st, Sticky: "a:1", Want: "a:1", Seq: 2},
		{Key: "sticky-holds", Type: st, Sticky: "a:1", Held: "a:1", Seq: 5},
		{Key: "paused", Type: fl, Zone: "local", Paused: true, Seq: 4},
		{Key: "moving-off-it", Type: fl, Zone: "local", Held: "a:1", Moving: true, Want: "b:2", Seq: 6},
		{Key: "moving-to-it", Type: fl, Zone: "local", Held: "c:3", Moving: true, Want: "a:1", Seq: 8},
	}
	want := []downMove{{"waits-float", false}, {"sticky-holds", true}, {"moving-off-it", true}, {"holds-late", true}, {"moving-to-it", false}}
	if got := movesOnDown(cs, "a:1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("movesOnDown = %v, want %v", got, want)
	}
	if got := movesOnDown(cs, "z:9"); len(got) != 0 {
		t.Fatalf("a broker nobody uses moved %v", got)
	}
}

func TestExceptionRetry(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		count     int
		last      time.Time
		wantCount int
		wantDelay time.Duration
	}{
		{"first exception: at once", 0, time.Time{}, 1, 0},
		{"second in the window: first delay", 1, now.Add(-time.Second), 2, exceptionFirst},
		{"third: doubled", 2, now.Add(-time.Second), 3, 2 * exceptionFirst},
		{"many: capped", 40, now.Add(-time.Second), 41, exceptionMaxDelay},
		{"after a quiet window: at once again", 9, now.Add(-exceptionWindow - time.Second), 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, d := exceptionRetry(tt.count, tt.last, now)
			if n != tt.wantCount || d != tt.wantDelay {
				t.Fatalf("exceptionRetry = %d, %v; want %d, %v", n, d, tt.wantCount, tt.wantDelay)
			}
		})
	}
}

func TestClassifyClose(t *testing.T) {
	soft := &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no queue", Recover: true}
	hard := &amqp.Error{Code: amqp.ConnectionForced, Reason: "shutdown"}
	tests := []struct {
		name         string
		known, owned bool
		err          *amqp.Error
		want         closeVerdict
	}{
		{"released or gone", false, true, soft, closeIgnored},
		{"unknown prechannel", false, false, nil, closeIgnored},
		{"prechannel", true, false, hard, closePrechannel},
		{"connection error reached the channel first", true, true, hard, closeBroker},
		{"channel exception", true, true, soft, closeException},
		{"graceful close of a held channel", true, true, nil, closeException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyClose(tt.known, tt.owned, tt.err); got != tt.want {
				t.Fatalf("classifyClose = %d, want %d", got, tt.want)
			}
		})
	}
}
