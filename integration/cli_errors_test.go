package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// queueMessages reads a queue's message count (ready and unacknowledged)
// as rabbitmqctl list_queues reports it.
func queueMessages(t *testing.T, b *Broker, queue string) int {
	t.Helper()
	out := b.Ctl(t, "list_queues", "name", "messages", "--quiet", "--no-table-headers")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == queue {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("list_queues line %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("list_queues has no queue %s:\n%s", queue, out)
	return 0
}

// runWarren runs the warren binary with args within a minute and returns
// its exit code, stdout and stderr.
func runWarren(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, warrenCLI(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("warren %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

// `warren errors` lists a listener's error queue without consuming it, and
// --requeue sends each message back to its original exchange and routing
// key with x-warren-requeued=1 and no other x-warren-* header.
func TestCLI_ErrorsListsThenRequeues(t *testing.T) {
	b := StartBroker(t)
	ch := rawChannel(t, b)
	for _, q := range []string{"orders", "orders_error"} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.QueueBind("orders", "orders", "amq.direct", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now().UTC().Truncate(time.Second)
	for i := range 3 {
		id := "order-" + strconv.Itoa(i+1)
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "orders_error", false, false, amqp.Publishing{
			MessageId: id, ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(`{"id":"` + id + `"}`),
			Headers: amqp.Table{
				"x-warren-error": "handler: out of stock", "x-warren-listener": "orders", "x-warren-queue": "orders",
				"x-warren-attempts": int32(3), "x-warren-original-exchange": "amq.direct", "x-warren-original-routing-key": "orders",
				"x-warren-failed-at": failedAt, "x-warren-broker": b.Addr(), "x-shop": "north",
			},
		})
		if err != nil || !dc.Wait() {
			t.Fatalf("publish %s to orders_error: %v (acked %v)", id, err, err == nil && dc.Acked())
		}
	}

	code, stdout, stderr := runWarren(t, "errors", "--url", b.URI(), "orders_error")
	if code != 0 {
		t.Fatalf("warren errors: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"order-1", "order-2", "order-3", "handler: out of stock", "amq.direct", failedAt.Format(time.RFC3339)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the listing lacks %q:\n%s", want, stdout)
		}
	}
	if n := queueMessages(t, b, "orders_error"); n != 3 {
		t.Fatalf("orders_error holds %d messages after the listing, want 3", n)
	}

	code, stdout, stderr = runWarren(t, "errors", "--url", b.URI(), "--json", "orders_error")
	if code != 0 {
		t.Fatalf("warren errors --json: exit %d\n%s", code, stderr)
	}
	var entries []struct {
		Position         int             `json:"position"`
		MessageID        string          `json:"message_id"`
		OriginalExchange string          `json:"original_exchange"`
		Attempts         int             `json:"attempts"`
		Body             json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if len(entries) != 3 || entries[2].Position != 3 || entries[2].MessageID != "order-3" || entries[0].OriginalExchange != "amq.direct" ||
		entries[0].Attempts != 3 || !strings.Contains(string(entries[0].Body), `"order-1"`) {
		t.Errorf("--json entries: %+v", entries)
	}
	if n := queueMessages(t, b, "orders_error"); n != 3 {
		t.Fatalf("orders_error holds %d messages after --json, want 3", n)
	}

	code, stdout, stderr = runWarren(t, "errors", "--url", b.URI(), "--requeue", "orders_error")
	if code != 0 {
		t.Fatalf("warren errors --requeue: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "requeued #1 (id order-1) to exchange amq.direct with key \"orders\"") ||
		!strings.Contains(stdout, "requeued 3 of 3 messages from orders_error\n") {
		t.Errorf("--requeue output:\n%s", stdout)
	}
	if n := queueMessages(t, b, "orders"); n != 3 {
		t.Fatalf("orders holds %d messages after --requeue, want 3", n)
	}
	if n := queueMessages(t, b, "orders_error"); n != 0 {
		t.Fatalf("orders_error holds %d messages after --requeue, want 0", n)
	}
	d, ok, err := ch.Get("orders", true)
	if err != nil || !ok {
		t.Fatalf("get from orders: ok %v, %v", ok, err)
	}
	if d.MessageId != "order-1" || d.Headers["x-warren-requeued"] != int32(1) || d.Headers["x-shop"] != "north" ||
		d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent {
		t.Errorf("requeued message: id %q, headers %v, content type %q, mode %d", d.MessageId, d.Headers, d.ContentType, d.DeliveryMode)
	}
	for k := range d.Headers {
		if strings.HasPrefix(k, "x-warren-") && k != "x-warren-requeued" {
			t.Errorf("the requeued message still carries %s", k)
		}
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, "guest:guest") {
			t.Fatalf("the password reached the output:\n%s", out)
		}
	}
}

// `warren errors` on a queue the broker lacks fails with its 404, naming the
// queue.
func TestCLI_ErrorsOnAMissingQueueFails(t *testing.T) {
	b := StartBroker(t)
	code, stdout, stderr := runWarren(t, "errors", "--url", b.URI(), "nope_error")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q: want 1 and nothing", code, stdout)
	}
	if !strings.Contains(stderr, `queue "nope_error" on broker `+b.Addr()+": 404 NOT_FOUND - no queue 'nope_error'") {
		t.Errorf("stderr lacks the 404 naming the queue:\n%s", stderr)
	}
	if strings.Contains(stderr, "guest:guest") {
		t.Fatal("the password reached stderr")
	}
}
