package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// clearWarrenEnv keeps the caller's WARREN_* variables out of LoadINI.
func clearWarrenEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{supervisor.EnvURI, supervisor.EnvZone, "KAZOO_ZONE"} {
		t.Setenv(k, "")
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun_ABrokenConfigExitsWithTheConfigError(t *testing.T) {
	clearWarrenEnv(t)
	tests := []struct {
		name string
		ini  string // "" for a missing file
		want string // in the ConfigError
	}{
		{name: "a zone without brokers", ini: "[zone]\nname = z1\n", want: "[zone] #1 (z1): amqp_uri: missing"},
		{name: "no zone at all", ini: "[kazoo_apps]\nzone = z1\n", want: "no broker configured"},
		{name: "a bad duration", ini: "[zone]\nname = z1\namqp_uri = amqp://127.0.0.1:1/\n[warren]\nheartbeat = soon\n", want: `[warren]: heartbeat: "soon" is not a duration`},
		{name: "a missing file", want: "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.ini")
			if tc.ini != "" {
				path = writeConfig(t, tc.ini)
			}
			_, loadErr := supervisor.LoadINI(path)
			var ce *supervisor.ConfigError
			if !errors.As(loadErr, &ce) {
				t.Fatalf("fixture: LoadINI = %v, want a *ConfigError", loadErr)
			}
			code, stdout, stderr := warren(t, "run", "--config", path, "--admin", "127.0.0.1:0")
			if code != exitError {
				t.Errorf("exit code = %d, want %d", code, exitError)
			}
			if stderr != loadErr.Error()+"\n" || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, path) {
				t.Errorf("stderr:\n%s\nwant the ConfigError:\n%s", stderr, loadErr)
			}
			if stdout != "" {
				t.Errorf("stdout: %s", stdout)
			}
		})
	}
}

func TestRun_ABadURINeverShowsItsPassword(t *testing.T) {
	clearWarrenEnv(t)
	tests := []struct {
		name, args, want string
	}{
		{name: "a bad port in --url", args: "run --url amqp://kazoo:s3cret@10.0.0.1:port/", want: "--url: "},
		{name: "a bad scheme in --url", args: "run --url http://kazoo:s3cret@10.0.0.1:5672/", want: "--url: bad AMQP URI <unparsable AMQP URI>: scheme must be amqp:// or amqps://"},
		{name: "a bad scheme in the config", args: "run --config " + writeConfig(t, "[zone]\nname = z1\namqp_uri = \"http://kazoo:s3cret@10.0.0.1:5672/\"\n"), want: "amqp_uri"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := warren(t, append(strings.Fields(tc.args), "--admin", "127.0.0.1:0")...)
			if code != exitError || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant it to contain %q", code, stderr, tc.want)
			}
			mustNotContain(t, "the error", stdout+stderr, "s3cret")
		})
	}
}

func TestRun_WithoutABrokerAsksForOne(t *testing.T) {
	clearWarrenEnv(t)
	code, _, stderr := warren(t, "run")
	if code != exitUsage || !strings.Contains(stderr, "give --config FILE") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestRun_ServesTheAdminAPIAndStopsCleanly runs the whole command against a
// broker address nothing listens on: no broker needed, the tree keeps
// redialling while the admin API answers.
func TestRun_ServesTheAdminAPIAndStopsCleanly(t *testing.T) {
	clearWarrenEnv(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	type started struct {
		tree  *supervisor.Tree
		admin net.Addr
	}
	running := make(chan started, 1)
	exited := make(chan int, 1)
	var stdout, stderr string
	broker := closedPort(t)
	go func() {
		code, out, errOut := cli{started: func(t *supervisor.Tree, a net.Addr) { running <- started{t, a} }}.run(t, ctx,
			"run", "--url", "amqp://kazoo:s3cret@"+broker+"/", "--admin", "127.0.0.1:0", "--log-level", "debug",
			"--admin-allow-host", "warren.example", "--admin-allow-host", "proxy.example:8443")
		stdout, stderr = out, errOut
		exited <- code
	}()
	var addr string
	select {
	case s := <-running:
		addr = s.admin.String()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.tree.Registry().WaitConnection(wctx, broker, func(c registry.Connection) bool { return c.LastError != "" })
		cancel()
		if err != nil {
			t.Fatalf("the connection to %s never failed: %v", broker, err)
		}
	case code := <-exited:
		t.Fatalf("warren run exited with %d before serving the admin API:\n%s", code, stderr)
	case <-time.After(10 * time.Second):
		t.Fatal("warren run did not serve the admin API within 10s")
	}

	code, out, errOut := warren(t, "connections", "--admin", addr)
	if code != exitOK || !strings.Contains(out, "amqp://kazoo:xxxxx@"+broker+"/") || !strings.Contains(out, "connection refused") {
		t.Errorf("warren connections = %d\n%s%s", code, out, errOut)
	}
	mustNotContain(t, "warren connections", out, "s3cret")
	if code, out, errOut = warren(t, "tree", "--admin", addr); code != exitOK || !strings.HasPrefix(out, "warren (supervisor") {
		t.Errorf("warren tree = %d\n%s%s", code, out, errOut)
	}
	page := getPage(t, "http://"+addr+"/ui")
	if !strings.Contains(page, "<title>Warren observer</title>") {
		t.Errorf("GET /ui is not the observer:\n%s", page)
	}

	for host, want := range map[string]int{"warren.example": http.StatusOK, "proxy.example": http.StatusOK,
		"evil.example": http.StatusMisdirectedRequest} {
		if got := hostStatus(t, addr, host); got != want {
			t.Errorf("GET /healthz with Host %s = %d, want %d (--admin-allow-host)", host, got, want)
		}
	}

	stop() // as SIGINT would
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("warren run exited with %d after a stop:\n%s", code, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("warren run did not stop within 15s of its context ending")
	}
	if want := "observer: http://" + addr + "/ui\n"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	for _, want := range []string{`msg="admin API listening"`, `msg="shutting down"`, "msg=stopped"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("log lacks %s:\n%s", want, stderr)
		}
	}
	mustNotContain(t, "the log", stderr, "s3cret")
}

// hostStatus returns the status of GET /healthz on addr naming host.
func hostStatus(t *testing.T, addr, host string) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
	req.Host = host
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /healthz with Host %s: %v", host, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// getPage reads url with a client of its own, closed after.
func getPage(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	res, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", url, res.StatusCode, err)
	}
	return string(body)
}
