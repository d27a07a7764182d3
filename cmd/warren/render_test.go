package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// treeJSON is GET /tree of a tree with one broker, as the admin API answers it.
const treeJSON = `{
  "name": "warren", "path": "warren", "kind": "supervisor", "status": "running", "restarts": 0,
  "strategy": "one_for_one 5/10s",
  "children": [
    {"name": "assignments", "path": "warren/assignments", "kind": "worker", "status": "running", "restarts": 0, "children": []},
    {"name": "bootstrap", "path": "warren/bootstrap", "kind": "worker", "status": "running", "restarts": 0, "detail": "ready", "children": []},
    {"name": "connection_sup", "path": "warren/connection_sup", "kind": "supervisor", "status": "running", "restarts": 1,
     "strategy": "simple_one_for_one 5/10s", "children": [
      {"name": "10.0.0.1:5672", "path": "warren/connection_sup/10.0.0.1:5672", "kind": "worker", "status": "restarting", "restarts": 3, "children": []},
      {"name": "10.0.0.2:5672", "path": "warren/connection_sup/10.0.0.2:5672", "kind": "worker", "status": "running", "restarts": 0, "children": []}
    ]},
    {"name": "connections", "path": "warren/connections", "kind": "worker", "status": "running", "restarts": 0, "children": []},
    {"name": "federated_listeners_sup", "path": "warren/federated_listeners_sup", "kind": "supervisor", "status": "stopping", "restarts": 0,
     "strategy": "simple_one_for_one 5/10s", "children": [
      {"name": "fed1", "path": "warren/federated_listeners_sup/fed1", "kind": "worker", "status": "running", "restarts": 0, "detail": "two\nlines", "children": []}
     ]}
  ]
}`

const treeGolden = `warren (supervisor, one_for_one 5/10s) running restarts=0
├── assignments (worker) running restarts=0
├── bootstrap (worker) running restarts=0 [ready]
├── connection_sup (supervisor, simple_one_for_one 5/10s) running restarts=1
│   ├── 10.0.0.1:5672 (worker) restarting restarts=3
│   └── 10.0.0.2:5672 (worker) running restarts=0
├── connections (worker) running restarts=0
└── federated_listeners_sup (supervisor, simple_one_for_one 5/10s) stopping restarts=0
    └── fed1 (worker) running restarts=0 [two lines]
`

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return v
}

func TestRenderTree_DrawsLikeTree1(t *testing.T) {
	root := decode[registry.TreeNode](t, treeJSON)
	var b strings.Builder
	if err := renderTree(&b, &root, palette{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != treeGolden {
		t.Fatalf("tree drawing differs.\ngot:\n%s\nwant:\n%s", b.String(), treeGolden)
	}
}

func TestRenderTree_ColoursStatusOnlyWhenAsked(t *testing.T) {
	root := decode[registry.TreeNode](t, treeJSON)
	var b strings.Builder
	if err := renderTree(&b, &root, palette{on: true}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"warren (supervisor, one_for_one 5/10s) \x1b[32mrunning\x1b[0m restarts=0",
		"10.0.0.1:5672 (worker) \x1b[33mrestarting\x1b[0m restarts=3",
		"federated_listeners_sup (supervisor, simple_one_for_one 5/10s) \x1b[33mstopping\x1b[0m",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("coloured tree lacks %q:\n%s", want, got)
		}
	}
	if stripped := stripANSI(got); stripped != treeGolden {
		t.Errorf("colour changed more than the status:\n%s", stripped)
	}
}

// stripANSI removes the SGR sequences palette writes.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var connectionRows = []supervisor.AdminConnection{
	{ID: "10.0.0.1:5672", Role: "consume", Zone: "local", State: "connected", Available: true, Channels: 11, Floats: 8, Stickies: 1, URI: "amqp://kazoo:xxxxx@10.0.0.1:5672/"},
	{ID: "10.0.0.2:5672@kazoo~publish", Role: "publish", Zone: "zone2", State: "disconnected", Attempts: 4,
		URI: "amqp://kazoo:xxxxx@10.0.0.2:5672/kazoo", LastError: "warren: broker 10.0.0.2:5672@kazoo: dial: connection refused"},
}

func TestRenderConnections_AlignsATable(t *testing.T) {
	var b strings.Builder
	if err := renderConnections(&b, connectionRows, palette{}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID                           ROLE     ZONE   STATE         AVAILABLE  ATTEMPTS  CHANNELS  FLOATS  STICKIES  URI                                     LAST_ERROR\n" +
		"10.0.0.1:5672                consume  local  connected     yes        0         11        8       1         amqp://kazoo:xxxxx@10.0.0.1:5672/       -\n" +
		"10.0.0.2:5672@kazoo~publish  publish  zone2  disconnected  no         4         0         0       0         amqp://kazoo:xxxxx@10.0.0.2:5672/kazoo  warren: broker 10.0.0.2:5672@kazoo: dial: connection refused\n"
	if b.String() != want {
		t.Fatalf("table differs.\ngot:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRenderConnections_ColourKeepsColumnsAligned(t *testing.T) {
	var plain, coloured strings.Builder
	if err := renderConnections(&plain, connectionRows, palette{}); err != nil {
		t.Fatal(err)
	}
	if err := renderConnections(&coloured, connectionRows, palette{on: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(coloured.String(), "\x1b[32mconnected\x1b[0m") || !strings.Contains(coloured.String(), "\x1b[31mdisconnected\x1b[0m") {
		t.Fatalf("states are not coloured:\n%q", coloured.String())
	}
	if got := stripANSI(coloured.String()); got != plain.String() {
		t.Fatalf("colour moved the columns.\ncoloured, stripped:\n%s\nplain:\n%s", got, plain.String())
	}
}

func TestRenderChannels_AlignsATable(t *testing.T) {
	rows := []supervisor.AdminChannel{
		{ID: "10.0.0.1:5672#1", Type: "float", Broker: "10.0.0.1:5672", Zone: "local", State: "prechannel"},
		{ID: "10.0.0.1:5672#2", Consumer: "warren/listener/callmgr", Type: "float", Broker: "10.0.0.1:5672", Zone: "local", State: "assigned", Reconnect: true},
		{Consumer: "warren/listener/sticky", Type: "sticky", Zone: "zone2", State: "waiting"},
	}
	var b strings.Builder
	if err := renderChannels(&b, rows, palette{}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID               CONSUMER                 TYPE    BROKER         ZONE   STATE       RECONNECT\n" +
		"10.0.0.1:5672#1  -                        float   10.0.0.1:5672  local  prechannel  no\n" +
		"10.0.0.1:5672#2  warren/listener/callmgr  float   10.0.0.1:5672  local  assigned    yes\n" +
		"-                warren/listener/sticky   sticky  -              zone2  waiting     no\n"
	if b.String() != want {
		t.Fatalf("table differs.\ngot:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestPalette_ColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		env  map[string]string
		want bool
	}{
		{name: "not a terminal", tty: false, want: false},
		{name: "a terminal", tty: true, want: true},
		{name: "a terminal with NO_COLOR set", tty: true, env: map[string]string{"NO_COLOR": "1"}, want: false},
		{name: "a dumb terminal", tty: true, env: map[string]string{"TERM": "dumb"}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{getenv: func(k string) string { return tc.env[k] }, isTTY: func(io.Writer) bool { return tc.tty }}
			if got := a.palette(io.Discard); got.on != tc.want {
				t.Fatalf("colour = %v, want %v", got.on, tc.want)
			}
		})
	}
}

func TestElapsed_NeverSaysZero(t *testing.T) {
	for d, want := range map[time.Duration]string{
		302 * time.Microsecond:               "302µs",
		1500 * time.Microsecond:              "2ms",
		2*time.Second + 345*time.Millisecond: "2.345s",
	} {
		if got := elapsed(d); got != want {
			t.Errorf("elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
