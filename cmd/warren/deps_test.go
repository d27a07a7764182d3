package main

import (
	"os/exec"
	"strings"
	"testing"
)

// testOnly says why a package the warren binary links would be test code; "" if it is not.
func testOnly(pkg string) string {
	switch {
	case pkg == "testing" || strings.HasPrefix(pkg, "testing/"):
		return "the standard library's test support"
	case pkg == "github.com/warrenmq/warren/integration":
		return "the integration tests' harness (start nodes with internal/rabbitnode)"
	case pkg == "github.com/warrenmq/warren/internal/leakcheck" || strings.HasPrefix(pkg, "go.uber.org/goleak"):
		return "the tests' goroutine leak check"
	case pkg == "github.com/warrenmq/warren/internal/nullbroker" || strings.HasPrefix(pkg, "github.com/warrenmq/warren/internal/nullbroker/"):
		return "the tests' in-process broker (warren bench --sink runs it as cmd/nullbroker, a process of its own)"
	case pkg == "github.com/warrenmq/warren/internal/testkit" || strings.HasPrefix(pkg, "github.com/warrenmq/warren/internal/testkit/"):
		return "the shared test helpers"
	}
	return ""
}

func TestTestOnly_NamesTestPackages(t *testing.T) {
	tests := []struct {
		given string
		want  bool
	}{
		{"testing", true},
		{"testing/iotest", true},
		{"github.com/warrenmq/warren/integration", true},
		{"go.uber.org/goleak", true},
		{"github.com/warrenmq/warren/internal/leakcheck", true},
		{"github.com/warrenmq/warren/internal/testkit", true},
		{"github.com/warrenmq/warren/internal/testkit/treetest", true},
		{"internal/testlog", false}, // os imports it: every Go binary has it
		{"github.com/warrenmq/warren/internal/rabbitnode", false},
		{"github.com/warrenmq/warren/internal/nullbroker", true},
		{"github.com/warrenmq/warren/internal/nullbroker/codec", true},
	}
	for _, tt := range tests {
		if got := testOnly(tt.given) != ""; got != tt.want {
			t.Errorf("testOnly(%q) = %v, want %v", tt.given, got, tt.want)
		}
	}
}

// The shipped binary links no test code: `warren bench` starts its node with internal/rabbitnode,
// never with the integration harness, --sink runs the null broker as a process of its own
// (cmd/nullbroker), and nothing outside tests imports testing.
func TestBinary_LinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps . (needs the go command on PATH): %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps . listed %d packages, too few to be warren's:\n%s", len(deps), out)
	}
	for _, pkg := range deps {
		if why := testOnly(pkg); why != "" {
			t.Errorf("cmd/warren links %s, %s; see go list -deps ./cmd/warren", pkg, why)
		}
	}
}
