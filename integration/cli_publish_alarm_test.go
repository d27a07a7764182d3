package integration

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// `warren publish` without --confirm during a memory alarm: the broker
// blocks the connection after its first publish and reads nothing more, so
// the messages written never arrive. The command must not claim them
// published: it says "written", that they are not confirmed, that the
// broker blocked publishing (connection.blocked), and fails, for a long run
// (the block known while it writes) as for a run of one message (written
// before connection.blocked reaches warren: the run's last publish is
// confirmed all the same, within --wait). It used to print "published N of
// 2000 messages" (and, before it stopped at the first publish that waited
// out MaxWait, hang 5 s per message left).
func TestFault_CLIPublishDuringMemoryAlarmClaimsNoDelivery(t *testing.T) {
	b := StartBroker(t)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("cli-alarm", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	b.Ctl(t, "set_vm_memory_high_watermark", "0")
	t.Cleanup(func() { _, _ = b.CtlErr("set_vm_memory_high_watermark", "0.4") })
	for _, count := range []int{2000, 1} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, warrenCLI(t), "publish", "--url", b.URI(), "--wait", "3s", "--exchange", "", "--key", "cli-alarm",
				"--count", fmt.Sprint(count), `{"Event-Category":"x","Event-Name":"y"}`).CombinedOutput()
			t.Logf("warren publish: %v\n%s", err, out)
			if err == nil {
				t.Fatal("warren publish exited 0 while the broker blocked publishing")
			}
			s := string(out)
			if strings.Contains(s, "published ") {
				t.Fatalf("output claims delivery: %q", s)
			}
			m := regexp.MustCompile(fmt.Sprintf(`written (\d+) of %d messages?`, count)).FindStringSubmatch(s)
			if m == nil || !strings.Contains(s, "not confirmed") || !strings.Contains(s, "connection.blocked") {
				t.Fatalf("output %q: want \"written N of %d\", \"not confirmed\" and connection.blocked", s, count)
			}
			written, _ := strconv.Atoi(m[1])
			q := b.Ctl(t, "list_queues", "name", "messages", "--quiet", "--no-table-headers")
			t.Logf("written %d; the queue during the alarm: %s", written, strings.TrimSpace(q))
			if strings.Contains(s, "guest:guest") {
				t.Fatal("the password reached the output")
			}
		})
	}
}
