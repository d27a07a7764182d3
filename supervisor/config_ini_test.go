package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeINI(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadINI_ReadsKazooZones(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv("KAZOO_ZONE", "")
	p := writeINI(t, `
[zone]
name = zone1
amqp_uri = "amqp://guest:guest@127.0.0.1:5672"
amqp_uri = "amqp://guest:guest@127.0.0.2:5672"
[zone]
name = "zone2"
amqp_uri = 'amqp://guest:guest@10.1.0.1:5672'
[amqp]
prefetch = 50
[kazoo_apps]
zone = zone1
cookie = change_me
`)
	cfg, err := LoadINI(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LocalZone != "zone1" || len(cfg.Zones) != 2 {
		t.Fatalf("cfg = %+v", cfg)
	}
	if z := cfg.Zones[0]; z.Name != "zone1" || len(z.Brokers) != 2 || z.Brokers[1] != "amqp://guest:guest@127.0.0.2:5672" {
		t.Fatalf("zone1 = %+v", z)
	}
	if z := cfg.Zones[1]; z.Name != "zone2" || z.Brokers[0] != "amqp://guest:guest@10.1.0.1:5672" {
		t.Fatalf("zone2 = %+v", z)
	}
	local, specs, err := cfg.resolve()
	if err != nil || local != "zone1" || len(specs) != 3 || specs[2].Zone != "zone2" {
		t.Fatalf("resolve = %q %+v %v", local, specs, err)
	}
}

func TestLoadINI_OlderAmqpSectionIsTheLocalZone(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv("KAZOO_ZONE", "")
	cfg, err := LoadINI(writeINI(t, "[amqp]\nuri = \"amqp://a:b@h1:5672\"\nuri = \"amqp://a:b@h2:5672\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	local, specs, err := cfg.resolve()
	if err != nil || local != DefaultZone || len(specs) != 2 || specs[0].ID != "h1:5672" {
		t.Fatalf("resolve = %q %+v %v", local, specs, err)
	}
}

func TestLoadINI_EnvironmentOverrides(t *testing.T) {
	p := writeINI(t, "[zone]\nname = z1\namqp_uri = amqp://h1\n[zone]\nname = z2\namqp_uri = amqp://h2\n")
	t.Run("zone from KAZOO_ZONE", func(t *testing.T) {
		t.Setenv(EnvURI, "")
		t.Setenv(EnvZone, "")
		t.Setenv("KAZOO_ZONE", "z2")
		cfg, err := LoadINI(p)
		if err != nil || cfg.LocalZone != "z2" {
			t.Fatalf("cfg = %+v, %v", cfg, err)
		}
	})
	t.Run("one broker from WARREN_AMQP_URI", func(t *testing.T) {
		t.Setenv(EnvURI, "amqp://u:p@override:5672/")
		t.Setenv(EnvZone, "z1")
		cfg, err := LoadINI(p)
		if err != nil || len(cfg.Zones) != 1 || cfg.Zones[0].Brokers[0] != "amqp://u:p@override:5672/" || cfg.Zones[0].Name != "z1" {
			t.Fatalf("cfg = %+v, %v", cfg, err)
		}
	})
}

func TestLoadINI_WarrenSection(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv("KAZOO_ZONE", "")
	cfg, err := LoadINI(writeINI(t, "[zone]\nname=z\namqp_uri=amqp://h\n[warren]\nheartbeat = 5s\nconnection_timeout = 2\nbackoff_first = 100ms\nbackoff_max = 3s\nmax_attempts = 4\nprechannels = 3\nchannel_max = 64\nbootstrap_timeout = 1m\npublishers = 3\npublish_buffer = 50\npublish_max_wait = 2s\nrpc_workers = 6\nnode = kazoo_apps@h1\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Connection
	if c.Heartbeat != 5*time.Second || c.ConnectionTimeout != 2*time.Second || c.Backoff.First != 100*time.Millisecond ||
		c.Backoff.Max != 3*time.Second || c.Backoff.MaxAttempts != 4 || cfg.Prechannels != 3 || c.ChannelMax != 64 || cfg.BootstrapTimeout != time.Minute ||
		cfg.Publish.Publishers != 3 || cfg.Publish.Buffer != 50 || cfg.Publish.MaxWait != 2*time.Second || cfg.RPC.Workers != 6 || cfg.RPC.Node != "kazoo_apps@h1" {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestLoadINI_ErrorsNameFileSectionAndKey(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv("KAZOO_ZONE", "")
	tests := []struct {
		name  string
		body  string
		wants []string
	}{
		{"zone without a name", "[zone]\namqp_uri = amqp://h\n", []string{"[zone] #1", "name", "missing"}},
		{"zone without a broker", "[zone]\nname = z1\n", []string{"[zone] #1 (z1)", "amqp_uri"}},
		{"no broker at all", "[kazoo_apps]\nzone = z\n", []string{"no broker configured", "WARREN_AMQP_URI"}},
		{"bad duration", "[zone]\nname=z\namqp_uri=amqp://h\n[warren]\nheartbeat = soon\n", []string{"[warren]", "heartbeat", "soon"}},
		{"bad number", "[zone]\nname=z\namqp_uri=amqp://h\n[warren]\nprechannels = -2\n", []string{"[warren]", "prechannels"}},
		{"unknown key", "[zone]\nname=z\namqp_uri=amqp://h\n[warren]\nprechanels = 4\n", []string{"[warren]", "prechanels", "unknown key", "prechannels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeINI(t, tt.body)
			_, err := LoadINI(p)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			for _, w := range append(tt.wants, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestLoadINI_MissingFile(t *testing.T) {
	_, err := LoadINI("/nonexistent/config.ini")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/config.ini") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfig_ResolveRejectsBadBrokers(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		wants []string
	}{
		{"bad URI, password kept out", Config{Zones: []Zone{{Name: "z", Brokers: []string{"amqp://u:s3cret@h:port/"}}}}, []string{"zone #1 (z)", "amqp_uri", "invalid port"}},
		{"duplicate broker", Config{Zones: []Zone{{Name: "z", Brokers: []string{"amqp://h", "amqp://u:p@h:5672/"}}}}, []string{"listed twice"}},
		{"no local broker", Config{LocalZone: "z9", Zones: []Zone{{Name: "z", Brokers: []string{"amqp://h"}}}}, []string{`local zone "z9"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.cfg.resolve()
			if err == nil || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
