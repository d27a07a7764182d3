package supervisor

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminDo sends method path with body and the Authorization header auth
// ("" for none) to the server at addr, naming host in Host ("" for the
// address), and decodes a JSON answer into v.
func adminDo(t *testing.T, addr, method, path, host, auth, body string, v any) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: not JSON: %v\n%s", method, path, err, b)
		}
	}
	return res, string(b)
}

// tokenDir points the token files of the test at a directory of its own.
func tokenDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "tokens")
	t.Setenv(EnvAdminTokenDir, dir)
	return dir
}

func TestAdminWrites_RefusedWithoutOrWithAWrongToken(t *testing.T) {
	tokenDir(t)
	s := serveAdminTest(t, adminTestTree(t), "127.0.0.1:0")
	addr := s.addr.String()
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + s.token, "Bearer"} {
		var e AdminError
		res, body := adminDo(t, addr, http.MethodPost, "/brokers", "", auth, `{"uri":"amqp://u:p@h:5672/"}`, &e)
		if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("POST /brokers with Authorization %q = %d (WWW-Authenticate %q) %s: want 401 with a Bearer challenge",
				auth, res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
		}
		if !strings.Contains(e.Error, "no or wrong admin token") || strings.Contains(body, s.token) {
			t.Errorf("401 answer %q: want it to say the token is missing or wrong, without the token", body)
		}
	}
	// GETs stay open.
	if res, body := adminDo(t, addr, http.MethodGet, "/brokers", "", "", "", nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /brokers without a token = %d %s, want 200", res.StatusCode, body)
	}
}

func TestAdminWrites_FromAForeignHostAre421EvenWithTheToken(t *testing.T) {
	tokenDir(t)
	s := serveAdminTest(t, adminTestTree(t), "127.0.0.1:0")
	res, body := adminDo(t, s.addr.String(), http.MethodPost, "/brokers/a:5672/drain", "evil.example:7117", "Bearer "+s.token, "", nil)
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("POST from Host evil.example = %d %s, want 421", res.StatusCode, body)
	}
}

func TestAdminWrites_AnswerClientMistakes(t *testing.T) {
	tokenDir(t)
	tr := adminTestTree(t)
	fillAdminRows(t, tr)
	s := serveAdminTest(t, tr, "127.0.0.1:0")
	addr, auth := s.addr.String(), "Bearer "+s.token
	cases := []struct {
		name, method, path, body string
		code                     int
		says                     string
	}{
		{"an unknown field", http.MethodPost, "/brokers", `{"uri":"amqp://u:s3cret@h/","zone":"z","colour":"red"}`, 400, `unknown field "colour"`},
		{"no uri", http.MethodPost, "/brokers", `{"zone":"z"}`, 400, "uri is required"},
		{"not an AMQP URI", http.MethodPost, "/brokers", `{"uri":"http://u:s3cret@h/"}`, 400, "not an AMQP URI"},
		{"two values", http.MethodPost, "/brokers", `{"uri":"amqp://h/"} {}`, 400, "more than one JSON value"},
		{"a wrong type", http.MethodPost, "/brokers", `{"uri":"amqp://h/","connections":"s3cret"}`, 400, `field "connections"`},
		{"a body too large", http.MethodPost, "/brokers", `{"uri":"` + strings.Repeat("x", AdminMaxBody) + `"}`, 413, "over 65536 bytes"},
		{"an unknown broker", http.MethodDelete, "/brokers/nope:5672", "", 404, `no broker "nope:5672"`},
		{"drain of an unknown broker", http.MethodPost, "/brokers/nope:5672/drain", "", 404, `no broker "nope:5672"`},
		{"a bad drain timeout", http.MethodPost, "/brokers/a:5672/drain", `{"timeout":"forever"}`, 400, `timeout "forever"`},
		{"an unknown listener", http.MethodPost, "/listeners/nope/stop", "", 404, `no listener "nope"`},
		{"GET on a write path", http.MethodGet, "/brokers/a:5672/drain", "", 405, "use POST"},
		{"PUT on /brokers", http.MethodPut, "/brokers", "", 405, "use GET or HEAD or POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e AdminError
			res, body := adminDo(t, addr, c.method, c.path, "", auth, c.body, &e)
			if res.StatusCode != c.code || !strings.Contains(e.Error, c.says) {
				t.Errorf("%s %s = %d %s, want %d saying %q", c.method, c.path, res.StatusCode, body, c.code, c.says)
			}
			if strings.Contains(body, "s3cret") {
				t.Errorf("the answer echoes the body's secret: %s", body)
			}
			if c.code == 405 && res.Header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

func TestAdminHandler_WithoutServeAdminRefusesEveryWrite(t *testing.T) {
	var e AdminError
	code, body := adminGet(t, adminTestTree(t).AdminHandler(), http.MethodDelete, "/brokers/a:5672", &e)
	if code != http.StatusUnauthorized || !strings.Contains(e.Error, "no token") {
		t.Errorf("DELETE through AdminHandler = %d %s, want 401: it has no token", code, body)
	}
}

func TestAdminToken_FileIsTheUsersOnlyAndGoneAtStop(t *testing.T) {
	dir := tokenDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := adminTestTree(t).serveAdmin(ctx, "127.0.0.1:0", WithAdminUntil(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if s.tokenFile != AdminTokenFile(s.addr.String()) || filepath.Dir(s.tokenFile) != dir {
		t.Fatalf("token file %s: want AdminTokenFile(%s) in %s", s.tokenFile, s.addr, dir)
	}
	fi, err := os.Stat(s.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("token directory mode %v, want 0700", di.Mode().Perm())
	}
	got, err := ReadAdminToken(s.tokenFile)
	if err != nil || got != s.token || len(got) != 2*adminTokenBytes {
		t.Errorf("ReadAdminToken = %d bytes, %v: want the server's %d-byte hex token", len(got), err, 2*adminTokenBytes)
	}
	cancel()
	select {
	case <-s.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the admin server did not stop within 10s")
	}
	if _, err := os.Stat(s.tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file after stop: %v, want it removed", err)
	}
}

func TestAdminToken_GivenTokenIsUsedAndCheckedAndTokenDirOfOthersRefused(t *testing.T) {
	dir := tokenDir(t)
	const tok = "given-token-0123456789abcdef"
	s := serveAdminTest(t, adminTestTree(t), "127.0.0.1:0", WithAdminToken(tok))
	if got, _ := ReadAdminToken(s.tokenFile); got != tok || s.token != tok {
		t.Errorf("with WithAdminToken the file holds %d bytes, want the given token", len(got))
	}
	for _, bad := range []string{"short", "has a space in it 0123456789", strings.Repeat("x", adminTokenMax+1)} {
		if err := WithAdminToken(bad)(&adminOptions{}); err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("WithAdminToken(%d bytes) = %v: want an error that does not quote it", len(bad), err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := adminTestTree(t).serveAdmin(ctx, "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "lets others in") {
		t.Errorf("serveAdmin with a token directory of mode 0755 = %v, want it refused", err)
	}
}
