package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeAdmin serves canned admin API answers, path -> JSON.
func fakeAdmin(t *testing.T, answers map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.Path]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error": "no such endpoint ` + r.URL.Path + `"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTree_PrintsTheDrawingOfTheAdminAPI(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/tree": treeJSON})
	code, stdout, stderr := warren(t, "tree", "--admin", addr)
	if code != exitOK || stdout != treeGolden {
		t.Fatalf("warren tree = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestTree_NoColourWhenStdoutIsNotATerminal(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/tree": treeJSON})
	_, stdout, _ := cli{tty: false}.run(t, context.Background(), "tree", "--admin", addr)
	if strings.Contains(stdout, "\x1b[") {
		t.Fatalf("colour codes without a terminal: %q", stdout)
	}
	_, stdout, _ = cli{tty: true}.run(t, context.Background(), "tree", "--admin", addr)
	if !strings.Contains(stdout, "\x1b[32mrunning") {
		t.Fatalf("no colour on a terminal: %q", stdout)
	}
	_, stdout, _ = cli{tty: true, env: map[string]string{"NO_COLOR": "1"}}.run(t, context.Background(), "tree", "--admin", addr)
	if strings.Contains(stdout, "\x1b[") {
		t.Fatalf("colour codes despite NO_COLOR: %q", stdout)
	}
}

func TestShowCommands_JSONPrintsTheAPIAnswerAsIs(t *testing.T) {
	answers := map[string]string{
		"/tree":        treeJSON,
		"/connections": `[{"id": "a:5672", "uri": "amqp://kazoo:xxxxx@a:5672/", "state": "connected", "channels": 3}]`,
		"/channels":    `[{"id": "a:5672#1", "consumer": "", "type": "float", "state": "prechannel"}]`,
	}
	addr := fakeAdmin(t, answers)
	for _, cmd := range []string{"tree", "connections", "channels"} {
		t.Run(cmd, func(t *testing.T) {
			code, stdout, stderr := warren(t, cmd, "--json", "--admin", addr)
			if code != exitOK || stdout != answers["/"+cmd]+"\n" {
				t.Fatalf("warren %s --json = %d\nstdout:\n%s\nstderr:\n%s", cmd, code, stdout, stderr)
			}
		})
	}
}

func TestConnections_PrintsATable(t *testing.T) {
	addr := fakeAdmin(t, map[string]string{"/connections": `[{"id": "a:5672", "role": "consume", "zone": "local", "uri": "amqp://kazoo:xxxxx@a:5672/",
		"state": "connected", "available": true, "attempts": 0, "last_error": "", "channels": 11, "floats": 7, "stickies": 2},
		{"id": "b:5672", "role": "consume", "zone": "local", "uri": "amqp://kazoo:xxxxx@b:5672/",
		"state": "connected", "available": true, "attempts": 0, "last_error": "", "channels": 1, "draining": true}]`})
	code, stdout, stderr := warren(t, "connections", "--admin", addr)
	want := "" +
		"ID      ROLE     ZONE   STATE                 AVAILABLE  ATTEMPTS  CHANNELS  FLOATS  STICKIES  URI                         LAST_ERROR\n" +
		"a:5672  consume  local  connected             yes        0         11        7       2         amqp://kazoo:xxxxx@a:5672/  -\n" +
		"b:5672  consume  local  connected (draining)  yes        0         1         0       0         amqp://kazoo:xxxxx@b:5672/  -\n"
	if code != exitOK || stdout != want {
		t.Fatalf("warren connections = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestAdminClient_NamesWhyItGotNoAnswer(t *testing.T) {
	t.Run("a closed port says connection refused and suggests warren run", func(t *testing.T) {
		addr := closedPort(t)
		code, _, stderr := warren(t, "tree", "--admin", addr)
		want := "warren: cannot reach the Warren admin API at " + addr + ": connection refused — is `warren run` running?\n"
		if code != exitError || stderr != want {
			t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
		}
	})
	t.Run("WARREN_ADMIN sets the address", func(t *testing.T) {
		addr := closedPort(t)
		_, _, stderr := cli{env: map[string]string{envAdmin: addr}}.run(t, context.Background(), "connections")
		if !strings.Contains(stderr, "at "+addr+": connection refused") {
			t.Fatalf("stderr:\n%s", stderr)
		}
	})
	t.Run("--admin wins over WARREN_ADMIN", func(t *testing.T) {
		addr := fakeAdmin(t, map[string]string{"/channels": `[]`})
		code, _, stderr := cli{env: map[string]string{envAdmin: closedPort(t)}}.run(t, context.Background(), "channels", "--admin", addr)
		if code != exitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

func TestAdminClient_NamesANon200Answer(t *testing.T) {
	t.Run("a Warren error body is quoted", func(t *testing.T) {
		addr := fakeAdmin(t, map[string]string{})
		code, _, stderr := warren(t, "tree", "--admin", addr)
		want := "warren: the Warren admin API at " + addr + " answered GET /tree with 404 Not Found: no such endpoint /tree\n"
		if code != exitError || stderr != want {
			t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
		}
	})
	t.Run("another server is suspected", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		addr := strings.TrimPrefix(srv.URL, "http://")
		_, _, stderr := warren(t, "connections", "--admin", addr)
		if !strings.Contains(stderr, "answered GET /connections with 404 Not Found: not a Warren admin API?") {
			t.Fatalf("stderr:\n%s", stderr)
		}
	})
	t.Run("an unreadable 200 is named", func(t *testing.T) {
		addr := fakeAdmin(t, map[string]string{"/tree": `<html>`})
		_, _, stderr := warren(t, "tree", "--admin", addr)
		if !strings.Contains(stderr, "the answer of "+addr+" to GET /tree is not what Warren expects") {
			t.Fatalf("stderr:\n%s", stderr)
		}
	})
}
