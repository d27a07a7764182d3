package integration

import (
	"context"
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
// broker blocked publishing (connection.blocked), and fails. It used to
// print "published N of 2000 messages".
func TestCLI_PublishDuringMemoryAlarmClaimsNoDelivery(t *testing.T) {
	b := StartBroker(t)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("cli-alarm", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	b.Ctl(t, "set_vm_memory_high_watermark", "0")
	t.Cleanup(func() { _, _ = b.CtlErr("set_vm_memory_high_watermark", "0.4") })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, warrenCLI(t), "publish", "--url", b.URI(), "--wait", "3s", "--exchange", "", "--key", "cli-alarm",
		"--count", "2000", `{"Event-Category":"x","Event-Name":"y"}`).CombinedOutput()
	t.Logf("warren publish: %v\n%s", err, out)
	if err == nil {
		t.Fatal("warren publish exited 0 while the broker blocked publishing")
	}
	s := string(out)
	if strings.Contains(s, "published ") {
		t.Fatalf("output claims delivery: %q", s)
	}
	m := regexp.MustCompile(`written (\d+) of 2000 messages`).FindStringSubmatch(s)
	if m == nil || !strings.Contains(s, "not confirmed") || !strings.Contains(s, "connection.blocked") {
		t.Fatalf("output %q: want \"written N of 2000 messages\", \"not confirmed\" and connection.blocked", s)
	}
	written, _ := strconv.Atoi(m[1])
	q := b.Ctl(t, "list_queues", "name", "messages", "--quiet", "--no-table-headers")
	t.Logf("written %d; the queue during the alarm: %s", written, strings.TrimSpace(q))
	if strings.Contains(s, "guest:guest") {
		t.Fatal("the password reached the output")
	}
}
