package nodes

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

// recordedKazoo is a Kazoo node's advertisement built field by field from
// kz_nodes:advertise_payload/1 (testdata/README.md names the source).
func recordedKazoo(t *testing.T) kazoo.Envelope {
	t.Helper()
	body, err := os.ReadFile("testdata/kazoo_advertise.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kazoo.Parse(body)
	if err != nil {
		t.Fatalf("parse the recorded advertisement: %v", err)
	}
	return e
}

func TestNodeOf_ReadsTheRecordedKazooAdvertiseAsAKazooNode(t *testing.T) {
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	row, err := nodeOf(recordedKazoo(t), at, "local")
	if err != nil {
		t.Fatalf("nodeOf: %v", err)
	}
	want := registry.Node{Name: "kazoo_apps@kz1.example.com", Zone: "east", Version: "4.3.142 - 19", Kind: registry.NodeKazoo,
		Apps: []string{"blackhole", "callflow", "crossbar", "ecallmgr"}, Memory: 268435456, Processes: 2417,
		Heard: at, Expires: at.Add(15431250 * time.Microsecond)} // 12345 ms × 1.25
	if row.Name != want.Name || row.Zone != want.Zone || row.Version != want.Version || row.Kind != want.Kind ||
		strings.Join(row.Apps, ",") != strings.Join(want.Apps, ",") || row.Memory != want.Memory ||
		row.Processes != want.Processes || !row.Heard.Equal(want.Heard) || !row.Expires.Equal(want.Expires) {
		t.Fatalf("row\n got %+v\nwant %+v", row, want)
	}
	if row.Extra["Ports"] != float64(42) {
		t.Errorf("Ports: got %v, want 42", row.Extra["Ports"])
	}
}

func TestNodeOf(t *testing.T) {
	at := time.Now()
	base := func(kv ...any) kazoo.Envelope {
		e := kazoo.Envelope{"Event-Category": "nodes", "Event-Name": "advertise", "App-Name": "kz_nodes",
			"App-Version": "4.0.0", "Msg-ID": "m1", "Node": "n@h", "Expires": json.Number("1000")}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(e, kv[i].(string))
			} else {
				e[kv[i].(string)] = kv[i+1]
			}
		}
		return e
	}
	tests := []struct {
		name    string
		given   kazoo.Envelope
		want    func(registry.Node) bool
		wantErr string
	}{
		{name: "refuses an advertisement without Expires, as advertise_v", given: base("Expires", nil), wantErr: "Expires"},
		{name: "refuses another event", given: base("Event-Name", "status"), wantErr: "Event-Name"},
		{name: "refuses a non-positive Expires", given: base("Expires", json.Number("0")), wantErr: "positive"},
		{name: "takes the local zone when the node names none", given: base(),
			want: func(n registry.Node) bool { return n.Zone == "local" }},
		{name: "takes AMQP-Broker-Zone when Zone is missing", given: base("AMQP-Broker-Zone", "west"),
			want: func(n registry.Node) bool { return n.Zone == "west" }},
		{name: "takes App-Version when Version is missing", given: base(),
			want: func(n registry.Node) bool { return n.Version == "4.0.0" }},
		{name: "reads Kazoo's older WhApps list", given: base("WhApps", []any{"callflow", "crossbar"}),
			want: func(n registry.Node) bool { return strings.Join(n.Apps, ",") == "callflow,crossbar" }},
		{name: "says warren for App-Name warren", given: base("App-Name", "warren"),
			want: func(n registry.Node) bool { return n.Kind == registry.NodeWarren }},
		{name: "masks the password of an advertised AMQP-Broker", given: base("AMQP-Broker", "amqp://kazoo:s3cret@10.0.0.5:5672"),
			want: func(n registry.Node) bool {
				return !strings.Contains(n.Broker, "s3cret") && strings.Contains(n.Broker, "10.0.0.5")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, err := nodeOf(tt.given, at, "local")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("nodeOf: %v", err)
			}
			if !tt.want(row) {
				t.Fatalf("row %+v", row)
			}
		})
	}
}

func TestAdvertisement_ValidatesAgainstKapiNodes(t *testing.T) {
	cfg := Config{Node: "warren-1@h", Zone: "east", Version: "v1.2.3", Publish: nil, Silent: true}
	e := advertisement(cfg, []string{"authn", "publishers"}, time.Now(), 7*time.Second)
	if err := e.Prepare(kazoo.Defaults{}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wire, err := kazoo.Parse(body) // what a reader gets
	if err != nil {
		t.Fatal(err)
	}
	if err := Advertise.Validate(wire); err != nil {
		t.Fatalf("Warren's advertisement fails kapi_nodes' advertise_v: %v", err)
	}
	for k, want := range map[string]string{"Event-Category": "nodes", "Event-Name": "advertise", "App-Name": "warren",
		"App-Version": "v1.2.3", "Node": "warren-1@h", "Zone": "east", "Expires": "7000"} {
		if got := wire.Text(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"Msg-ID", "Used-Memory", "Processes", "Version", "WhApps"} {
		if wire.Text(k) == "" {
			t.Errorf("%s missing", k)
		}
	}
	row, err := nodeOf(wire, time.Now(), "local")
	if err != nil || row.Kind != registry.NodeWarren || strings.Join(row.Apps, ",") != "authn,publishers" {
		t.Fatalf("read back: %+v, %v", row, err)
	}
}
