package listener

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func kinds(cmds []command) string {
	names := map[cmdKind]string{cmdDeclareQueue: "queue", cmdQos: "qos", cmdBind: "bind", cmdUnbind: "unbind", cmdConsume: "consume"}
	var out []string
	for _, c := range cmds {
		s := names[c.kind]
		if c.kind == cmdBind || c.kind == cmdUnbind {
			s += " " + c.binding.String()
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func TestRecord_AddAndRemoveLeaveNothingBehind(t *testing.T) {
	spec := Spec{Name: "l", Prefetch: 5, Bindings: []Binding{{Exchange: "x", RoutingKey: "a", Declare: true, Kind: "topic"}}}
	start := initialCommands(spec)
	if got := kinds(start); got != "queue, qos, bind x/a, consume" {
		t.Fatalf("initial record: %s", got)
	}
	b := Binding{Exchange: "y", RoutingKey: "b", Declare: true, Kind: "direct"}
	cmds := addBinding(start, b, false)
	cmds = addBinding(cmds, b, false) // twice: recorded once
	if got := kinds(cmds); got != "queue, qos, bind x/a, bind y/b, consume" {
		t.Fatalf("after add: %s", got)
	}
	for range 3 { // add/remove cycles do not grow the record
		cmds, _ = removeBinding(cmds, b, false)
		cmds = addBinding(cmds, b, false)
	}
	cmds, found := removeBinding(cmds, b, false)
	if !found || !reflect.DeepEqual(cmds, start) {
		t.Fatalf("after remove: %s, want %s", kinds(cmds), kinds(start))
	}
	if _, found := removeBinding(cmds, b, false); found {
		t.Fatal("removed a binding that is not recorded")
	}
}

func TestRecord_PendingUnbind(t *testing.T) {
	b := Binding{Exchange: "x", RoutingKey: "a"}
	cmds := initialCommands(Spec{Name: "l", Bindings: []Binding{b}})
	cmds, _ = removeBinding(cmds, b, true)
	if got := kinds(cmds); got != "queue, unbind x/a, consume" {
		t.Fatalf("pending unbind: %s", got)
	}
	if again := addBinding(cmds, b, false); kinds(again) != "queue, bind x/a, consume" {
		t.Fatalf("adding back drops the pending unbind: %s", kinds(again))
	}
	if got := kinds(appliedUnbind(cmds, b)); got != "queue, consume" {
		t.Fatalf("after the replay applied it: %s", got)
	}
	if got := kinds(insertBeforeConsume(nil, command{kind: cmdQos})); got != "qos" {
		t.Fatalf("insert into an empty record: %s", got)
	}
}

func TestReplayError_NamesTheCommand(t *testing.T) {
	cause := &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no exchange 'x'"}
	for _, tt := range []struct {
		cmd      command
		precheck bool
		want     string
	}{
		{command{kind: cmdDeclareQueue}, false, "declare queue q"},
		{command{kind: cmdQos}, false, "set qos"},
		{command{kind: cmdBind, binding: Binding{Exchange: "x", RoutingKey: "k"}}, false, "bind q to x/k"},
		{command{kind: cmdBind, binding: Binding{Exchange: "x", RoutingKey: "k", Declare: true}}, false, "declare exchange x and bind q to x/k"},
		{command{kind: cmdUnbind, binding: Binding{Exchange: "x", RoutingKey: "k"}}, false, "unbind q from x/k"},
		{command{kind: cmdConsume}, false, "consume q"},
		// checkExchanges, before an auto-delete queue is declared
		{command{kind: cmdBind, binding: Binding{Exchange: "x", RoutingKey: "k"}}, true, "check exchange x before declaring auto-delete queue q"},
		{command{kind: cmdBind, binding: Binding{Exchange: "x", RoutingKey: "k", Declare: true}}, true, "declare exchange x before declaring auto-delete queue q"},
	} {
		err := error(&replayError{cmd: tt.cmd, queue: "q", err: cause, precheck: tt.precheck})
		if !strings.HasPrefix(err.Error(), tt.want+": ") || !errors.Is(err, cause) || !notFound(err) {
			t.Errorf("replay error %q: want %q, wrapping the 404", err, tt.want)
		}
	}
	if notFound(errors.New("other")) {
		t.Fatal("notFound of a plain error")
	}
}

func TestIsJSON_ContentTypes(t *testing.T) {
	for _, tt := range []struct {
		ct, body string
		want     bool
	}{
		{"application/json", "x", true},
		{"application/json; charset=utf-8", "x", true},
		{"Application/JSON;charset=UTF-8", "x", true},
		{"application/vnd.kazoo+json", "x", true},
		{"application/json;", "x", true},
		{"text/plain", "{}", false},
		{"", " {\"a\":1}", true},
		{"", "[1]", true},
		{"", "hello", false},
		{"", "", false},
	} {
		if got := isJSON(tt.ct, []byte(tt.body)); got != tt.want {
			t.Errorf("isJSON(%q, %q) = %v, want %v", tt.ct, tt.body, got, tt.want)
		}
	}
}

func TestAnonymousQueueName(t *testing.T) {
	a, b := anonymousQueueName("auth"), anonymousQueueName("auth")
	if a == b || !strings.HasPrefix(a, "warren-auth-") || len(a) != len("warren-auth-")+16 {
		t.Fatalf("names %q, %q: want distinct warren-auth-<16 hex>", a, b)
	}
	if (QueueSpec{}).outlivesChannel() != true || (QueueSpec{Exclusive: true}).outlivesChannel() || (QueueSpec{AutoDelete: true}).outlivesChannel() {
		t.Fatal("outlivesChannel is wrong")
	}
}
