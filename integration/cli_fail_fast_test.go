package integration

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Issue 24, points 5 and 8, on a real RabbitMQ through the built binary: a
// wrong password or an unknown vhost ends a client command with one line
// (RabbitMQ answers a refused login after its 3 s silent-close delay,
// since amqp091-go does not ask for authentication_failure_close), and a
// listen on amq.topic without --passive fails at its first refusal with
// the flags to use, after one ERROR line (the listener's).
func TestCLI_PermanentErrorsFailFastInOneLine(t *testing.T) {
	b := SharedBroker(t)
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		lines int
	}{
		{"wrong password", []string{"publish", "--url", b.URIWith("guest", "wrong-s3cret"), "--exchange", "amq.topic", "--key", "k", "{}"},
			"username or password not allowed", 1},
		{"unknown vhost", []string{"publish", "--url", b.VHostURI("no-such-vhost-" + strings.ReplaceAll(t.Name(), "/", "-")), "--exchange", "amq.topic", "--key", "k", "{}"},
			"not found", 1},
		{"amq.topic declared", []string{"listen", "--url", b.URI(), "--exchange", "amq.topic", "--key", "cli.fail.fast.#", "--count", "1"},
			"exchange amq.topic exists with other flags (type/durable): use --passive or the same --type/--durable", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := warrenCLI(t) // built once, before the clock starts
			start := time.Now()
			out, err := exec.Command(bin, tc.args...).CombinedOutput() // stdout is empty on failure
			took := time.Since(start)
			var lines []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			if err == nil || len(lines) != tc.lines || !strings.Contains(lines[len(lines)-1], tc.want) {
				t.Fatalf("exit %v, output:\n%s\nwant a failure in %d line(s), the last naming %q", err, out, tc.lines, tc.want)
			}
			if took > 6*time.Second || strings.Contains(string(out), "wrong-s3cret") {
				t.Fatalf("took %v (or showed the password):\n%s", took, out)
			}
		})
	}
}
