package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warrenmq/warren/internal/testkit"
	"github.com/warrenmq/warren/internal/testkit/treetest"
)

var (
	buildOnce sync.Once
	warrenBin string
	buildErr  error
)

// warrenCLI builds cmd/warren once per test binary.
func warrenCLI(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := filepathAbs("../.tmp-bin")
		if err != nil {
			buildErr = err
			return
		}
		warrenBin = filepath.Join(dir, "warren")
		out, err := exec.Command("go", "build", "-o", warrenBin, "../cmd/warren").CombinedOutput()
		if err != nil {
			buildErr = err
			warrenBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/warren: %v\n%s", buildErr, warrenBin)
	}
	return warrenBin
}

func filepathAbs(p string) (string, error) { return filepath.Abs(p) }

// `warren listen` consumes through a listener and prints each delivery as
// one JSON line; the message comes from rabbitmq-c's amqp-publish.
func TestCLI_ListenPrintsDeliveriesAsJSON(t *testing.T) {
	b := StartBroker(t)
	bin := warrenCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "listen", "--url", b.URI(), "--exchange", "cli-x", "--type", "topic",
		"--key", "a.*", "--queue", "cli-q", "--json", "--count", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, 30*time.Second, "cli-q consumed", func() bool { return ctlCount(t, b, "cli-q", "list_consumers", "queue_name") == 1 })
	for _, args := range [][]string{
		{"-r", "a.json", "-C", "application/json", "-b", `{"Event-Category":"x","Event-Name":"y"}`},
		{"-r", "a.text", "-b", "plain text"},
	} {
		full := append([]string{"--url", strings.TrimSuffix(b.URI(), "/"), "-e", "cli-x"}, args...)
		if out, err := exec.Command("amqp-publish", full...).CombinedOutput(); err != nil {
			t.Fatalf("amqp-publish: %v: %s", err, out)
		}
	}
	sc := bufio.NewScanner(stdout)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("warren listen: %v\n%s", err, stderr.String())
	}
	body, _ := lines[0]["body"].(map[string]any) // a JSON body is embedded as JSON
	if len(lines) != 2 || lines[0]["routing_key"] != "a.json" || body["Event-Name"] != "y" || lines[0]["body_encoding"] != "json" ||
		lines[1]["body"] != "plain text" || lines[1]["body_encoding"] != "text" || lines[1]["exchange"] != "cli-x" {
		t.Fatalf("lines = %v", lines)
	}
	if strings.Contains(stderr.String(), "guest:guest") {
		t.Fatal("the password reached stderr")
	}
}

// `warren call` makes a Kazoo request from its own tree and prints the reply
// of a listener running in another (the test's) tree.
func TestCLI_CallPrintsTheReply(t *testing.T) {
	b := StartBroker(t)
	tree := rpcTree(t, b)
	responder(t, tree, "authn", "cli-pass", 0)
	bin := warrenCLI(t)
	out, err := exec.Command(bin, "call", "--url", b.URI(), "--exchange", "callmgr", "--key", "authn.req.example%2Ecom", "--timeout", "5s",
		`{"Event-Category":"directory","Event-Name":"authn_req","Auth-Realm":"example.com","Msg-ID":"cli-1"}`).Output()
	if err != nil {
		t.Fatalf("warren call: %v", err)
	}
	var reply map[string]any
	if err := json.Unmarshal(out, &reply); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if reply["Msg-ID"] != "cli-1" || reply["Auth-Password"] != "cli-pass" {
		t.Fatalf("reply = %v", reply)
	}
}

// `warren publish --confirm --count N` puts N messages in a queue, as the
// broker counts them.
func TestCLI_PublishConfirmedCount(t *testing.T) {
	b := StartBroker(t)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("cli-pub", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(warrenCLI(t), "publish", "--url", b.URI(), "--exchange", "", "--key", "cli-pub", "--count", "500", "--confirm",
		`{"Event-Category":"x","Event-Name":"y"}`).CombinedOutput()
	if err != nil {
		t.Fatalf("warren publish: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "published and confirmed 500 of 500 messages") {
		t.Fatalf("output %q", out)
	}
	q, err := ch.QueueDeclarePassive("cli-pub", false, false, false, false, nil)
	if err != nil || q.Messages != 500 {
		t.Fatalf("queue holds %d messages (%v), want 500", q.Messages, err)
	}
}

// Client commands and an embedded start/stop leave nothing on the broker:
// no reply queue of RPC workers (publish and listen start none; call's is
// exclusive) and no listener queue of an auto-delete spec.
func TestCLI_CommandsLeaveNoQueueBehind(t *testing.T) {
	b := StartBroker(t)
	bin := warrenCLI(t)
	queues := func() string {
		return strings.TrimSpace(b.Ctl(t, "list_queues", "name", "--quiet", "--no-table-headers"))
	}
	if q := queues(); q != "" {
		t.Fatalf("a fresh broker has queues: %q", q)
	}
	run := func(wantOK bool, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append(args, "--url", b.URI())...).CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("warren %v: %v\n%s", args, err, out)
		}
	}
	for range 3 {
		run(true, "publish", "--exchange", "kapps", "--key", "k", `{"a":1}`)
	}
	run(true, "publish", "--exchange", "kapps", "--key", "k", "--confirm", "--count", "10", `{"a":1}`)
	run(false, "call", "--exchange", "callmgr", "--key", "nobody.home", "--timeout", "500ms",
		`{"Event-Category":"directory","Event-Name":"authn_req"}`) // no queue bound: returned unroutable, exit 1
	tree, _ := treetest.Start(t, oneZone(b.URI()))
	waitReady(t, tree, 20*time.Second)
	waitPublishersReady(t, tree, 10*time.Second)
	if err := tree.Shutdown(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, 10*time.Second, "no queue left on the broker", func() bool { return queues() == "" })
}

// warren listen attaches to a durable exchange it must not declare
// (--passive), says on stderr when it consumes, and prints every body:
// malformed JSON and binary ones too (escaped). An exchange of another type
// ends it with the broker's reason instead of retrying forever.
func TestCLI_ListenPassiveReadyAndEveryBody(t *testing.T) {
	b := StartBroker(t)
	bin := warrenCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, stdout := startListenCLI(t, ctx, bin, "--url", b.URI(), "--exchange", "amq.topic", "--passive",
		"--key", "cli.#", "--count", "2")
	ch := rawChannel(t, b)
	publishJSON(t, ch, "amq.topic", "cli.a", `{"Event-Category": "broken",`)
	if err := ch.PublishWithContext(ctx, "amq.topic", "cli.b", false, false, amqpPublishing("\x00\x01bin")); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("warren listen: %v (stdout %q)", err, lines)
	}
	if len(lines) != 2 || !strings.Contains(lines[0], `{"Event-Category": "broken",`) || !strings.Contains(lines[1], `"\x00\x01bin"`) {
		t.Fatalf("stdout %q: want the malformed JSON and the escaped binary body", lines)
	}

	// amq.topic is a topic exchange: declaring it as fanout is refused
	// every time, and listen ends with the reason.
	out, err := exec.CommandContext(ctx, bin, "listen", "--url", b.URI(), "--exchange", "amq.topic", "--type", "fanout").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ACCESS_REFUSED") && !strings.Contains(string(out), "PRECONDITION_FAILED") {
		t.Fatalf("listen on a refused exchange: %v\n%s", err, out)
	}
}

// Ctrl-C during `warren publish --count` stops it with the usual exit code
// of an interrupted command (130), after the summary of what was published.
func TestCLI_PublishInterruptedExits130(t *testing.T) {
	b := StartBroker(t)
	bin := warrenCLI(t)
	ch := rawChannel(t, b)
	if _, err := ch.QueueDeclare("cli-int", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	cmd := exec.CommandContext(ctx, bin, "publish", "--url", b.URI(), "--exchange", "", "--key", "cli-int",
		"--count", "100000000", `{"a":1}`)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, 30*time.Second, "messages arriving", func() bool {
		q, err := ch.QueueDeclarePassive("cli-int", false, false, false, false, nil)
		return err == nil && q.Messages > 0
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(out.String(), "written ") || !strings.Contains(out.String(), "interrupted") {
		t.Fatalf("interrupted publish: %v\n%s\nwant exit 130 after the summary", err, out.String())
	}
}

// `warren demo` (the built binary) prints its calls and one snapshot when
// its output is not a terminal, and with --watch stays live: a call and a
// fresh view every --interval until --for has passed, serving the observer
// meanwhile, then it shuts down and leaves no queue behind.
func TestCLI_DemoSnapshotThenLive(t *testing.T) {
	b := StartBroker(t)
	bin := warrenCLI(t)
	out, err := exec.Command(bin, "demo", "--url", b.URI(), "--calls", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("warren demo: %v\n%s", err, out)
	}
	for _, want := range []string{"-> demo-user1", "-> demo-user2", "== supervision tree", "== connections", "== listeners", "demo-authn"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("snapshot lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "live every") {
		t.Fatalf("went live without a terminal or --watch:\n%s", out)
	}
	start := time.Now()
	live := exec.Command(bin, "demo", "--url", b.URI(), "--calls", "1", "-w", "--interval", "300ms", "--for", "3s", "--admin", "127.0.0.1:0")
	pipe, err := live.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	live.Stderr = live.Stdout
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	page := make(chan string, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if url, ok := strings.CutPrefix(sc.Text(), "observer: "); ok && len(page) == 0 {
				page <- strings.Fields(url)[0]
			}
		}
	}()
	select {
	case url := <-page: // the live demo serves the observer meanwhile
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the live demo printed no observer address within 30s")
	}
	<-read
	if err := live.Wait(); err != nil {
		t.Fatalf("warren demo -w: %v\n%s", err, strings.Join(lines, "\n"))
	}
	out = []byte(strings.Join(lines, "\n"))
	if n := strings.Count(string(out), "warren demo, live every 300ms"); n < 2 {
		t.Fatalf("%d live views in %v, want several:\n%s", n, time.Since(start), out)
	}
	for _, want := range []string{"-> demo-user2", "-> demo-user3"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("live view lacks the call %q:\n%s", want, out)
		}
	}
	testkit.Poll(t, 10*time.Second, "no demo queue left", func() bool {
		return ctlCount(t, b, "warren", "list_queues", "name") == 0
	})
}

// `warren bench --json` (the built binary) on a test broker reports every
// scenario with both sides measured, and draws the chart.
func TestCLI_BenchJSON(t *testing.T) {
	b := StartBroker(t)
	svg := filepath.Join(t.TempDir(), "bench.svg")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, warrenCLI(t), "bench", "--url", b.URI(), "--json", "--rounds", "1",
		"--duration", "200ms", "--messages", "1000", "--idle", "20", "--svg", svg).Output()
	if err != nil {
		t.Fatalf("warren bench: %v", err)
	}
	var rep struct {
		Broker    string `json:"broker"`
		Scenarios []struct {
			Name           string  `json:"name"`
			Unit           string  `json:"unit"`
			Raw            float64 `json:"raw"`
			Warren         float64 `json:"warren"`
			Ratio          float64 `json:"ratio"`
			Goal           float64 `json:"goal"`
			HigherIsBetter bool    `json:"higher_is_better"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(rep.Scenarios) < 7 || rep.Broker != brokerID(t, b) {
		t.Fatalf("report %+v", rep)
	}
	var names []string
	for _, s := range rep.Scenarios {
		names = append(names, s.Name)
		if s.Raw <= 0 || s.Warren <= 0 || s.Ratio <= 0 || s.Goal <= 0 || s.Unit == "" {
			t.Errorf("scenario %+v: a side not measured", s)
		}
	}
	all := strings.Join(names, "\n")
	for _, want := range []string{"fire-and-forget", "pipelined", "callers", "consume", "RPC round trip p99 (direct reply-to)",
		"RPC round trip p99 (Kazoo targeted)", "RPC calls/s", "latency p99", "idle listener, heap", "channel acquisition"} {
		if !strings.Contains(all, want) {
			t.Errorf("no scenario %q in the report:\n%s", want, all)
		}
	}
	if data, err := os.ReadFile(svg); err != nil || !strings.HasPrefix(string(data), "<svg") {
		t.Fatalf("chart: %v %.40q", err, data)
	}
}

// startListenCLI starts `warren listen args…` (bin) and returns once it
// says on stderr that it listens, with its stdout to read the deliveries.
func startListenCLI(t *testing.T, ctx context.Context, bin string, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"listen"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on queue") {
				select {
				case ready <- sc.Text():
				default:
				}
			}
		}
	}()
	recv(t, ready, 30*time.Second, "warren listen's ready line on stderr")
	return cmd, stdout
}
