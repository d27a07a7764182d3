package main

import (
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/nullbroker"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

// warren status exits with a code a script can test: 0 ready, 3 not
// ready, 4 ready but degraded, 1 when no admin API answers, 2 for a
// usage mistake; the output says the same.
func TestStatus_ExitCodesForScripts(t *testing.T) {
	nb := treetest.NullBroker(t, nullbroker.Config{})
	ready := startRun(t, nil, "--url", nb.URL())
	treetest.WaitReady(t, ready.tree, 10*time.Second)
	notReady := startRun(t, nil, "--url", "amqp://guest:guest@"+closedPort(t)+"/")
	degraded := fakeAdmin(t, map[string]string{"/status": `{"ready":true,"degraded":"2 consumers wait for a channel: channel_max used up on 127.0.0.1:5672",` +
		`"local_zone":"local","zones":[],"listeners":{},"publishers":{},"workers":{}}`})
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ready", []string{"status", "--admin", ready.addr}, exitOK, "ready (local zone local)"},
		{"ready, as JSON", []string{"status", "--admin", ready.addr, "--json"}, exitOK, `"ready": true`},
		{"not ready", []string{"status", "--admin", notReady.addr}, exitNotReady, "not ready (local zone local)"},
		{"not ready, as JSON", []string{"status", "--admin", notReady.addr, "--json"}, exitNotReady, `"ready": false`},
		{"degraded", []string{"status", "--admin", degraded}, exitDegraded, "ready, degraded (local zone local): 2 consumers wait"},
		{"no admin API there", []string{"status", "--admin", closedPort(t)}, exitError, "connection refused"},
		{"a bad flag", []string{"status", "--admin", "nowhere"}, exitUsage, `--admin "nowhere"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBuilt(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("warren %s: exit %d, want %d saying %q\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}
