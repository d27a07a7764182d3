package supervisor

import (
	"os"
	"strings"
	"testing"
	"time"
)

// readmeINI returns the ```ini block of ../README.md that follows the
// comment "<!-- config.ini: NAME", so that the README's examples are the
// ones tested.
func readmeINI(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- config.ini: "+name)
	if !ok {
		t.Fatalf("README.md has no config.ini example marked %q", name)
	}
	_, rest, ok = strings.Cut(rest, "```ini\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatalf("README.md: no ```ini block after the %q marker", name)
	}
	return block
}

func TestLoadINI_TheREADMEsExamplesLoad(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv(envKazooZone, "")
	t.Run("one zone", func(t *testing.T) {
		cfg, err := LoadINI(writeINI(t, readmeINI(t, "one zone")))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LocalZone != "zone1" || len(cfg.Zones) != 1 || len(cfg.Zones[0].Brokers) != 2 ||
			cfg.Prefetch != 50 || cfg.Connection.Heartbeat != 10*time.Second {
			t.Fatalf("cfg = %+v: want zone1 with two brokers, prefetch 50, heartbeat 10s", cfg)
		}
		if _, specs, err := cfg.resolve(); err != nil || len(specs) != 2 {
			t.Fatalf("resolve: %d brokers, %v", len(specs), err)
		}
	})
	t.Run("two zones", func(t *testing.T) {
		cfg, err := LoadINI(writeINI(t, readmeINI(t, "two zones")))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LocalZone != "zone1" || len(cfg.Zones) != 2 || cfg.Zones[1].Name != "zone2" || len(cfg.Zones[1].Brokers) != 2 {
			t.Fatalf("cfg = %+v: want zone1 local, zone2 with two brokers", cfg)
		}
		local, specs, err := cfg.resolve()
		if err != nil || local != "zone1" || len(specs) != 3 {
			t.Fatalf("resolve = %q, %d brokers, %v", local, len(specs), err)
		}
	})
}

// A list-valued amqp_uri says what to write instead; an unknown local
// zone's hint names the keys that exist.
func TestLoadINI_HintsNameWhatToWrite(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv(envKazooZone, "")
	for _, v := range []string{
		`["amqp://guest:guest@10.0.0.1:5672", "amqp://guest:guest@10.0.0.2:5672"]`,
		`"amqp://guest:guest@10.0.0.1:5672, amqp://guest:guest@10.0.0.2:5672"`,
	} {
		_, err := LoadINI(writeINI(t, "[zone]\nname = z1\namqp_uri = "+v+"\n"))
		if err == nil || !strings.Contains(err.Error(), `one amqp_uri = "amqp://…" line per broker`) || strings.Contains(err.Error(), "cannot parse") {
			t.Errorf("amqp_uri = %s: %v; want it to say one amqp_uri line per broker", v, err)
		}
		if err != nil && strings.Contains(err.Error(), "guest:guest") {
			t.Errorf("the error shows a password: %v", err)
		}
	}
	cfg, err := LoadINI(writeINI(t, readmeINI(t, "two zones")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalZone = "zone3"
	_, _, err = cfg.resolve()
	for _, key := range []string{"[kazoo_apps] zone", "[warren] zone", "$WARREN_ZONE", "$KAZOO_ZONE", "--zone"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("unknown local zone: %v; want the hint to name %s", err, key)
		}
	}
	if err != nil && strings.Contains(err.Error(), "[zone] local") {
		t.Errorf("the hint names [zone] local, a key that does not exist: %v", err)
	}
}
