package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Issue 24's second hour: a `warren call` answered from the CLI by a
// `warren listen --reply`, on a real RabbitMQ, the built command on both
// sides: the call prints the reply (its Msg-ID matched), the listen the
// request with its zone and broker and what it answered.
func TestCLI_ListenReplyAnswersCall(t *testing.T) {
	b := SharedBroker(t)
	bin := warrenCLI(t)
	exchange := t.Name() // the shared node: names of its own
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	listen, stdout := startListenCLI(t, ctx, bin, "--url", b.URI(), "--exchange", exchange, "--key", "authn.req.*", "--json", "--count", "1",
		"--reply", `{"Event-Category":"directory","Event-Name":"authn_resp","Auth-Method":"password","Auth-Password":"from-the-cli"}`)

	out, code, took := runCLI(t, "call", "--url", b.URI(), "--exchange", exchange, "--key", "authn.req.example%2Ecom", "--timeout", "5s",
		`{"Event-Category":"directory","Event-Name":"authn_req","Auth-Realm":"example.com","Auth-User":"alice"}`)
	wantCLI(t, out, code, 0, `"Auth-Password":"from-the-cli"`, `"Event-Name":"authn_resp"`)
	t.Logf("warren call answered by warren listen --reply in %v", took)

	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := listen.Wait(); err != nil || len(lines) != 1 {
		t.Fatalf("warren listen --count 1: %v, stdout %q", err, lines)
	}
	var line struct {
		Zone, Broker string
		Body         map[string]any
		Reply        struct {
			Exchange string
			Body     map[string]any
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line.Zone != "local" || line.Broker == "" || !strings.Contains(b.URI(), "@"+line.Broker) ||
		line.Reply.Exchange != "targeted" || line.Reply.Body["Msg-ID"] != line.Body["Msg-ID"] || line.Body["Msg-ID"] == nil {
		t.Fatalf("listen's line %s: want zone local, its broker, and the reply on targeted echoing the request's Msg-ID", lines[0])
	}
}
