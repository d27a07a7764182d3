package main

import (
	"strings"
	"testing"

	"github.com/warrenmq/warren/supervisor"
)

func TestRenderListeners_AlignsATable(t *testing.T) {
	rows := []supervisor.AdminListener{
		{Name: "registrar", Queue: "registrar-q", Bindings: []string{"callmgr/authn.req.*", "registrar/reg.#"}, Broker: "10.0.0.1:5672", Zone: "east", State: "consuming", Received: 14, Acked: 11, Nacked: 1, Rejected: 1, Unhandled: 1, Errors: 1, DeadLettered: 1},
		{Name: "anon", Bindings: []string{}, State: "waiting"},
	}
	var b strings.Builder
	if err := renderListeners(&b, rows, palette{}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME       QUEUE        BINDINGS                             ZONE  BROKER         STATE      RECEIVED  ACKED  NACKED  REJECTED  UNHANDLED  ERRORS  DEAD-LETTERED\n" +
		"registrar  registrar-q  callmgr/authn.req.*,registrar/reg.#  east  10.0.0.1:5672  consuming  14        11     1       1         1          1       1\n" +
		"anon       -            -                                    -     -              waiting    0         0      0       0         0          0       0\n"
	if b.String() != want {
		t.Fatalf("table differs.\ngot:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestListen_UsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exchange is required", []string{"listen", "--url", "amqp://127.0.0.1/"}, "--exchange is required"},
		{"type is checked", []string{"listen", "--url", "amqp://127.0.0.1/", "--exchange", "x", "--type", "round"}, `--type "round"`},
		{"count is checked", []string{"listen", "--url", "amqp://127.0.0.1/", "--exchange", "x", "--count", "-1"}, "--count -1"},
		{"a broker is needed", []string{"listen", "--exchange", "x"}, "no broker to connect to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := warren(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want usage exit and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestRenderZones_LocalFirstWithFederators(t *testing.T) {
	rows := []supervisor.AdminZoneRow{
		{Name: "local", Local: true, Brokers: 2, Available: true, Up: 1, Primary: "10.0.0.1:5672"},
		{Name: "east", Brokers: 1, Federators: 2, Consuming: 1},
	}
	var b strings.Builder
	if err := renderZones(&b, rows, palette{}); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAME   LOCAL  AVAILABLE  BROKERS UP  PRIMARY        FEDERATORS\n" +
		"local  yes    yes        1/2         10.0.0.1:5672  0/0 consuming\n" +
		"east   no     no         0/1         -              1/2 consuming\n"
	if b.String() != want {
		t.Fatalf("table differs.\ngot:\n%s\nwant:\n%s", b.String(), want)
	}
}
