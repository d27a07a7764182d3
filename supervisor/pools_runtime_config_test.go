package supervisor

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadINI_ReadsPoolSections(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv("KAZOO_ZONE", "")
	base := "[zone]\nname = local\namqp_uri = \"amqp://guest:guest@127.0.0.1:5672\"\n"
	t.Run("every pool, in file order, a broker given by URI named by its id", func(t *testing.T) {
		cfg, err := LoadINI(writeINI(t, base+`
[pool Billing]
kind = workers
broker = "amqp://kazoo:s3cret@127.0.0.1:5672"
size = 3
[pool audit]
kind = publishers
zone = local
`))
		if err != nil {
			t.Fatal(err)
		}
		want := []PoolSpec{{Name: "billing", Kind: Workers, Broker: "127.0.0.1:5672", Size: 3},
			{Name: "audit", Kind: Publishers, Zone: "local"}}
		if !reflect.DeepEqual(cfg.Pools, want) {
			t.Fatalf("Pools = %+v, want %+v", cfg.Pools, want)
		}
	})
	for _, tt := range []struct {
		name, ini, want string
	}{
		{"an unknown key", "[pool x]\nkind = workers\nbrokers = a:1\n", "[pool x]: brokers: unknown key (a pool takes kind, broker, zone, tag, size)"},
		{"a bad kind", "[pool x]\nkind = listeners\n", `[pool x]: warren: pool "x": kind "listeners"`},
		{"a size that is no number", "[pool x]\nkind = workers\nsize = many\n", `[pool x]: size: "many": not a number`},
		{"a bad URI, its password masked", "[pool x]\nkind = workers\nbroker = \"amqp://u:s3cret@[::1\"\n", "[pool x]: broker"},
	} {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := LoadINI(writeINI(t, base+tt.ini))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("LoadINI = %v, want an error naming %q (and no password)", err, tt.want)
			}
		})
	}
}

func TestStart_RefusesAConfigPoolOnAnUnknownBroker(t *testing.T) {
	cfg := Config{Zones: []Zone{{Name: "local", Brokers: []string{closedPort}}},
		Pools: []PoolSpec{{Name: "billing", Kind: Workers, Broker: "10.9.9.9:5672"}}}
	_, err := Start(cfg, WithLogger(DiscardLogger()))
	if err == nil || !strings.Contains(err.Error(), `pool #1 (billing)`) || !strings.Contains(err.Error(), `no broker "10.9.9.9:5672"`) {
		t.Fatalf("Start = %v, want the pool's section and the unknown broker named", err)
	}
}
