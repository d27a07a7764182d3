package rabbitnode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinkCoreApps_FollowsDependenciesOfRabbitOnly(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "plugins")
	apps := map[string]string{
		"rabbit-3.10.8":              "{application, rabbit, [{applications, [kernel, ra, rabbit_common]}]}.",
		"rabbit_common-3.10.8":       "{application, rabbit_common, [{applications,[stdlib,jsx]}]}.",
		"ra-2.2.0":                   "{application, ra, [{applications, []}, {included_applications, [aten]}]}.",
		"aten-0.5.8":                 "{application, aten, []}.",
		"jsx-3.1.0":                  "{application, jsx, []}.",
		"rabbitmq_management-3.10.8": "{application, rabbitmq_management, [{applications, [rabbit]}]}.",
	}
	for dir, app := range apps {
		name := dir[:strings.LastIndexByte(dir, '-')]
		if err := os.MkdirAll(filepath.Join(src, dir, "ebin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, dir, "ebin", name+".app"), []byte(app), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := linkCoreApps(src, dst); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dst)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := "aten-0.5.8 jsx-3.1.0 ra-2.2.0 rabbit-3.10.8 rabbit_common-3.10.8"
	if strings.Join(got, " ") != want {
		t.Fatalf("linked %v, want %s", got, want)
	}
}

func TestLinkCoreApps_FailsWithoutRabbit(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "jsx-3.1.0", "ebin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := linkCoreApps(src, filepath.Join(t.TempDir(), "plugins")); err == nil || !strings.Contains(err.Error(), "no rabbit application") {
		t.Fatalf("err = %v, want no rabbit application", err)
	}
}
