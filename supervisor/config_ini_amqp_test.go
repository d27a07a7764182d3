package supervisor

import (
	"errors"
	"strings"
	"testing"

	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/rpc"
)

// TestLoadINI_AmqpPoolKeys covers Kazoo's [amqp] prefetch, pool_threshold
// and pool_server_confirms: each value read, Kazoo's defaults when
// absent, and a bad value refused naming its key.
func TestLoadINI_AmqpPoolKeys(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv(envKazooZone, "")
	const zone = "[zone]\nname = z\namqp_uri = amqp://h1/\n"
	type want struct {
		prefetch  int
		threshold int
		confirms  bool
	}
	for _, tc := range []struct {
		name    string
		given   string
		want    want
		wantErr string // the key the error names, and a word of its reason
	}{
		{name: "no [amqp] section leaves every default", given: zone, want: want{0, 0, false}},
		{name: "an [amqp] section without the keys takes Kazoo's defaults", given: zone + "[amqp]\npool_size = 150\n",
			want: want{0, rpc.DefaultNegativeThreshold, false}},
		{name: "Kazoo's sample values", given: zone + "[amqp]\nprefetch = 50\npool_size = 150\npool_overflow = 100\npool_threshold = 5\npool_server_confirms = false\n",
			want: want{listener.DefaultPrefetch, 5, false}},
		{name: "other values, quoted or not", given: zone + "[amqp]\nprefetch = \"10\"\npool_threshold = 2\npool_server_confirms = 'true'\n",
			want: want{10, 2, true}},
		{name: "prefetch 0 is no limit", given: zone + "[amqp]\nprefetch = 0\n", want: want{-1, rpc.DefaultNegativeThreshold, false}},
		{name: "the older single-zone form reads them too", given: "[amqp]\nuri = amqp://h1/\nprefetch = 7\npool_server_confirms = true\n",
			want: want{7, rpc.DefaultNegativeThreshold, true}},
		{name: "a prefetch that is not a number", given: zone + "[amqp]\nprefetch = many\n", wantErr: "[amqp]: prefetch: \"many\" is not a whole number"},
		{name: "a negative prefetch", given: zone + "[amqp]\nprefetch = -1\n", wantErr: "prefetch"},
		{name: "a prefetch above AMQP's 16 bits", given: zone + "[amqp]\nprefetch = 65536\n", wantErr: "prefetch: \"65536\""},
		{name: "a pool_threshold of 0", given: zone + "[amqp]\npool_threshold = 0\n", wantErr: "pool_threshold: \"0\" is not a whole number >= 1"},
		{name: "a pool_threshold that is not a number", given: zone + "[amqp]\npool_threshold = five\n", wantErr: "pool_threshold"},
		{name: "a pool_server_confirms that is not a boolean", given: zone + "[amqp]\npool_server_confirms = sometimes\n",
			wantErr: "pool_server_confirms: \"sometimes\" is not true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadINI(writeINI(t, tc.given))
			if tc.wantErr != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want a ConfigError containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{cfg.Prefetch, cfg.RPC.NegativeThreshold, cfg.Publish.ServerConfirms}
			if got != tc.want {
				t.Fatalf("prefetch, threshold, confirms = %+v, want %+v", got, tc.want)
			}
			if _, _, err := cfg.resolve(); err != nil {
				t.Fatalf("resolve: %v", err)
			}
		})
	}
}

func TestConfig_PrefetchAboveAMQPsLimitIsRefused(t *testing.T) {
	cfg := Config{Zones: []Zone{{Name: "z", Brokers: []string{"amqp://h1/"}}}, Prefetch: 65536}
	_, _, err := cfg.resolve()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "prefetch" {
		t.Fatalf("err %v, want a ConfigError on prefetch", err)
	}
	cfg.Prefetch = 65535
	if _, _, err := cfg.resolve(); err != nil {
		t.Fatalf("prefetch 65535: %v", err)
	}
}
