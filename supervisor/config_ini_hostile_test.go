//go:build unix

package supervisor

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors"
)

// loadWithin runs LoadINI(path) and fails the test if it has not returned
// within d: a FIFO used to block it forever.
func loadWithin(t *testing.T, path string, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := LoadINI(path)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("LoadINI(%s) still running after %s", path, d)
		return nil
	}
}

func TestLoadINI_RefusesAFIFOWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.ini")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal("mkfifo:", err)
	}
	err := loadWithin(t, p, 5*time.Second)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not a regular file (a FIFO)") {
		t.Fatalf("LoadINI(FIFO) = %v", err)
	}
}

func TestLoadINI_RefusesADevice(t *testing.T) {
	err := loadWithin(t, "/dev/zero", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not a regular file (a character device)") {
		t.Fatalf("LoadINI(/dev/zero) = %v", err)
	}
	if err := loadWithin(t, t.TempDir(), 5*time.Second); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Fatalf("LoadINI(dir) = %v", err)
	}
}

func TestLoadINI_RefusesAFileOverTheCap(t *testing.T) {
	p := writeINI(t, "[warren]\nheartbeat = "+strings.Repeat("9", MaxConfigSize)+"\n")
	err := loadWithin(t, p, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "a config file is at most") || len(err.Error()) > 300 {
		t.Fatalf("LoadINI(big) = %.300v", err)
	}
}

func TestLoadINI_ClipsAHugeValue(t *testing.T) {
	t.Setenv(EnvURI, "")
	p := writeINI(t, "[zone]\nname = z\namqp_uri = amqp://h/\n[warren]\nheartbeat = "+strings.Repeat("x", 512<<10)+"\n")
	err := loadWithin(t, p, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "(524288 bytes)") || len(err.Error()) > 300 {
		t.Fatalf("LoadINI(huge value) = %.300v (%d bytes)", err, len(err.Error()))
	}
}

func TestLoadINI_UnreadableLineIsNotEchoed(t *testing.T) {
	for _, line := range []string{
		`password s3cret`,                         // no '=' or ':'
		`[zone amqp://guest:s3cret@10.0.0.1:5672`, // unclosed section
		`"amqp://guest:s3cret@h = x`,              // unclosed key quote
	} {
		p := writeINI(t, "[zone]\nname = z\n"+line+"\n")
		err := loadWithin(t, p, 5*time.Second)
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("LoadINI with %q = %v, want the line number and no password", line, err)
		}
	}
}

func TestLoadINI_BadURIFailsAtLoadNamingItsPlace(t *testing.T) {
	t.Setenv(EnvURI, "")
	for _, tt := range []struct{ uri, why string }{
		{"amqp:/guest:s3cret@127.0.0.1:5672", `followed by "//"`},
		{"amqp://guest:2024/s3cret@host/", "'@' after the host"},
		{`'amqp://guest:p"s3cret@host/'`, "percent-encoded"},
	} {
		p := writeINI(t, "[zone]\nname = z1\namqp_uri = amqp://guest:guest@h1/\namqp_uri = "+tt.uri+"\n")
		err := loadWithin(t, p, 5*time.Second)
		want := p + ": [zone] #1 (z1): amqp_uri #2: warren: bad AMQP URI"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tt.why) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("LoadINI(amqp_uri = %s) = %v, want %q … %q without the password", tt.uri, err, want, tt.why)
		}
	}
}

func TestConfigError_MasksAnyURI(t *testing.T) {
	err := &ConfigError{Source: "config", Key: "k", Err: errors.New(`"amqp://u:p'ss@h/" and amqp:/u:s3cret@h`)}
	if got := err.Error(); strings.Contains(got, "ss@") || strings.Contains(got, "s3cret") {
		t.Fatalf("ConfigError = %q", got)
	}
	_, _, rerr := Config{Zones: []Zone{{Name: "z", Brokers: []string{"amqp://guest:2024/s3cret@host/"}}}}.resolve()
	var ue *actors.URIError
	if !errors.As(rerr, &ue) || strings.Contains(rerr.Error(), "s3cret") || !strings.Contains(rerr.Error(), "zone #1 (z): amqp_uri #1") {
		t.Fatalf("resolve = %v", rerr)
	}
}
