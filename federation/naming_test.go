package federation

import (
	"testing"

	"github.com/warrenmq/warren/registry"
)

func TestQueueName(t *testing.T) {
	tests := []struct {
		name, queue, zone string
		global            bool
		want              string
	}{
		{"zone appended", "registrar-flush-host", "zone1", false, "registrar-flush-host-zone1"},
		{"server-named stays empty", "", "zone1", false, ""},
		{"global name kept", "shared", "zone1", true, "shared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QueueName(tt.queue, tt.zone, tt.global); got != tt.want {
				t.Fatalf("QueueName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBrokers_ListsOtherZonesOnly(t *testing.T) {
	reg, w := registry.New()
	if err := w.Connections.Write(func(w *registry.ConnectionsTx) error {
		for _, c := range []registry.Connection{{ID: "l1", Zone: "local"}, {ID: "r2", Zone: "east"}, {ID: "r1", Zone: "west", Available: true}} {
			if err := w.PutConnection(c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := Brokers(reg, "local")
	if len(got) != 2 || got[0].ID != "r1" || got[1].ID != "r2" {
		t.Fatalf("Brokers = %+v", got)
	}
}
