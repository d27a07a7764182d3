package main

import (
	"strings"
	"testing"
)

func TestWarren_UsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{name: "an unknown flag is named", args: []string{"tree", "--bogus"}, want: "warren: unknown flag: --bogus\nRun 'warren tree --help' for usage.\n"},
		{name: "an unknown shorthand flag is named", args: []string{"connections", "-x"}, want: "unknown shorthand flag: 'x' in -x"},
		{name: "a flag without its value is named", args: []string{"channels", "--admin"}, want: "flag needs an argument: --admin"},
		{name: "an unknown command is named", args: []string{"bogus"}, want: `unknown command "bogus" for "warren"`},
		{name: "an extra argument is named", args: []string{"tree", "extra"}, want: `warren tree takes no arguments, got "extra"`},
		{name: "a bad --admin is named", args: []string{"tree", "--admin", "nonsense"}, want: `--admin "nonsense": want host:port`},
		{name: "a bad --log-level is named", args: []string{"run", "--url", "amqp://127.0.0.1/", "--log-level", "loud"}, want: `--log-level "loud": want debug, info, warn or error`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := warren(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stdout+stderr, "Usage:") {
				t.Errorf("a usage error dumps the usage:\n%s%s", stdout, stderr)
			}
		})
	}
}

func TestWarren_HelpListsTheCommands(t *testing.T) {
	code, stdout, _ := warren(t, "--help")
	if code != exitOK {
		t.Fatalf("exit code = %d", code)
	}
	for _, name := range []string{"run", "tree", "connections", "channels"} {
		if !strings.Contains(stdout, "  "+name+" ") {
			t.Errorf("help lacks %q:\n%s", name, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := warren(t, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "warren ") || !strings.Contains(stdout, "\ngo go1.") {
		t.Fatalf("warren version = %d\n%s", code, stdout)
	}
	code, stdout, _ = warren(t, "--version")
	if code != exitOK || !strings.HasPrefix(stdout, "warren ") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("warren --version = %d\n%s", code, stdout)
	}
	code, stdout, _ = warren(t, "--help")
	if code != exitOK || !strings.Contains(stdout, "completion") || !strings.Contains(stdout, "version") {
		t.Fatalf("warren --help lists neither completion nor version:\n%s", stdout)
	}
}

func TestExecute_SaysWarrenOnce(t *testing.T) {
	code, _, stderr := warren(t, "publish", "--url", "amqp://guest:guest@127.0.0.1:1/", "--wait", "100ms", "--exchange", "x", "{}")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1] // the error; the lines before are the tree's logs
	if code != exitError || !strings.HasPrefix(last, "warren: ") || strings.Count(last, "warren:") != 1 {
		t.Fatalf("exit %d, error line %q: want one 'warren:' prefix", code, last)
	}
}
