package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warrenmq/warren/internal/redact"
)

// FuzzLoadINI checks, for any config file, that LoadINI returns, that its
// error is short, and that the error shows no password the URI parser
// finds in any word or value of the file.
func FuzzLoadINI(f *testing.F) {
	for _, s := range []string{
		"[zone]\nname = zone1\namqp_uri = \"amqp://guest:guest@127.0.0.1:5672\"\n",
		"[zone]\nname = z\namqp_uri = amqp:/guest:s3cret@127.0.0.1:5672\n",
		"[zone]\nname = z\namqp_uri = amqp://guest:2024/Winter@host/\n",
		"[zone]\nname = z\namqp_uri = 'amqp://guest:p'ss@host/'\n",
		"[zone]\nname = z\namqp_uri = \"amqp://guest:p<s>s@host/\"\n",
		"[zone]\nname = z\namqp_uri =   amqp://guest:s3cret@host/  \n",
		"[zone]\nname = z\npassword s3cret amqp://guest:s3cret@host/\n",
		"[zone amqp://guest:s3cret@host/\n",
		"\"amqp://guest:s3cret@host/ = x\n",
		"[warren]\nheartbeat = amqp://guest:s3cret@host/\n",
		"[warren]\nheartbeat = " + strings.Repeat("9", 200) + "\n",
		"[warren]\namqp://guest:s3cret@host/ = 1\n",
		"[amqp]\nuri = amqp://guest:s3cret@host:99999/\n",
		"[zone]\nname = z\namqp_uri = amqp://h/\n[amqp]\nprefetch = 0\npool_threshold = 7\npool_server_confirms = true\n",
		"[zone]\nname = z\namqp_uri = amqp://h/\n[amqp]\nprefetch = amqp://guest:s3cret@host/\n",
		"[zone]\nname = z\namqp_uri = amqp://h/\n[amqp]\npool_threshold = 0\nprefetch = 70000\n",
		"[amqp]\nuri = amqp://h/\npool_server_confirms = 'amqp://guest:s3cret@host/'\n",
		"[zone]\nname = amqp://guest:s3cret@host/\namqp_uri = amqp://h/\n[kazoo_apps]\nzone = other\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Setenv(EnvURI, "")
		t.Setenv(EnvZone, "")
		t.Setenv(envKazooZone, "")
		p := filepath.Join(t.TempDir(), "config.ini")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadINI(p)
		if err == nil {
			_, _, err = cfg.resolve()
		}
		if err == nil {
			return
		}
		msg := err.Error()
		if len(msg) > 2048 {
			t.Fatalf("error of %d bytes", len(msg))
		}
		for _, secret := range passwords(string(data)) {
			if strings.Count(string(data), secret) == 1 && !strings.Contains(p, secret) && strings.Contains(msg, secret) {
				t.Fatalf("error shows the password %q: %s", secret, msg)
			}
		}
	})
}

// passwords returns the passwords ParseURI finds in the words and values of
// an INI text (at least 4 bytes, without the mask's 'x').
func passwords(text string) []string {
	var cands []string
	for _, line := range strings.Split(text, "\n") {
		cands = append(cands, strings.Fields(line)...)
		if _, v, ok := strings.Cut(line, "="); ok {
			cands = append(cands, v, unquote(v))
		}
		if k, _, ok := strings.Cut(line, "="); ok {
			cands = append(cands, k, unquote(k))
		}
		cands = append(cands, line)
	}
	var out []string
	for _, c := range cands {
		for _, w := range []string{c, strings.Trim(c, `"'[]`)} {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(w)), "kazoo://") {
				w = "amqp://" + strings.TrimSpace(w)[8:]
			}
			u, err := redact.ParseURI(w)
			if err != nil || !u.HasPassword || len(u.Password) < 4 || strings.ContainsAny(u.Password, "xX") {
				continue
			}
			out = append(out, u.Password)
		}
	}
	return out
}
