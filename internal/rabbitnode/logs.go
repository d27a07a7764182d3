package rabbitnode

import (
	"fmt"
	"os"
	"strings"
)

// LogTail returns the last count lines of the node's log file and of its stdout and stderr, for
// failure messages.
func (n *Node) LogTail(count int) string {
	var s strings.Builder
	for _, f := range []struct{ name, path string }{
		{"log", n.nodeLog()},
		{"stdout", n.path(stdoutFile)},
	} {
		fmt.Fprintf(&s, "--- %s of %s (%s) ---\n", f.name, n.Name, f.path)
		raw, err := os.ReadFile(f.path)
		if err != nil {
			fmt.Fprintf(&s, "(%v)\n", err)
			continue
		}
		s.WriteString(Tail(string(raw), count))
	}
	return s.String()
}

// Tail returns the last n lines of text, each ending in a newline: LogTail's cut, for callers
// showing other logs in failure messages.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// nodeLog is the node's log file, appended to on each start.
func (n *Node) nodeLog() string { return n.path(logDir, n.Name+".log") }
