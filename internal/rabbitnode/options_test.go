package rabbitnode

import (
	"strings"
	"testing"
	"time"
)

func TestCheck_RejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		given   Option
		wantErr string
	}{
		{"nil TLS files", WithTLS(nil), "WithTLS"},
		{"guest as extra user", WithUser("guest", "x"), "WithUser"},
		{"empty user", WithUser("", "x"), "WithUser"},
		{"default vhost", WithVHost("/"), "WithVHost"},
		{"multi-line config", WithConfig("a = 1\nb = 2"), "WithConfig"},
		{"plugin list syntax", WithPlugins("a,b"), "WithPlugins"},
		{"zero boot timeout", WithBootTimeout(0), "WithBootTimeout"},
		{"cookie with a space", WithCookie("a b"), "WithCookie"},
		{"nil port picker", WithPortPicker(nil), "WithPortPicker"},
		{"nil logf", WithLogf(nil), "WithLogf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.given)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check: err = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestCheck_AcceptsGoodOptions(t *testing.T) {
	err := Check(WithUser("kazoo", "s3cret"), WithVHost("kz"), WithConfig("heartbeat = 5"),
		WithPlugins("rabbitmq_consistent_hash_exchange"), WithBootTimeout(time.Minute), WithCookie("ABC"),
		WithPortPicker(FreePort), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteConfig_ListensOnLoopbackAndAppendsWithConfig(t *testing.T) {
	o := defaultOptions()
	if err := WithConfig("heartbeat = 7")(&o); err != nil {
		t.Fatal(err)
	}
	n := &Node{Name: "warren-it-test@localhost", Dir: t.TempDir(), Port: 12345, opts: o}
	if err := n.writeConfig(); err != nil {
		t.Fatal(err)
	}
	got := Tail(readFile(t, n.path(configFile)), 100)
	for _, want := range []string{"listeners.tcp.default = 127.0.0.1:12345\n", "loopback_users = none\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("rabbitmq.conf lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "heartbeat = 7\n") {
		t.Errorf("rabbitmq.conf does not end with the WithConfig line:\n%s", got)
	}
}
