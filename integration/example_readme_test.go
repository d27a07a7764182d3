package integration

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/supervisor"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Example_readme runs the README's Go snippets as they are written there:
// each region between a "README:" marker and "README:end" is a snippet of
// README.md, which TestREADME_SnippetsAreRunByExamples checks.
func Example_readme() {
	path := exampleConfig() // a config.ini naming a throw-away RabbitMQ
	// README: embedding
	cfg, err := supervisor.LoadINI(path) // Kazoo's [zone] name / amqp_uri format
	if err != nil {
		log.Fatal(err) // names the file, the section and the key
	}
	tree, err := supervisor.Start(cfg, supervisor.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	defer tree.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tree.WaitReady(ctx); err != nil { // a broker of the local zone is up
		log.Fatal(err)
	}
	primary, _ := tree.Registry().Primary(tree.LocalZone())
	fmt.Println(primary.Zone, primary.State) // local connected

	// The admin API and its observer (/ui) until tree.Shutdown: ctx bounds the start only.
	addr, err := tree.ServeAdmin(ctx, "127.0.0.1:0") // "" for 127.0.0.1:7117
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("observer: http://%s/ui", addr)
	// README:end

	callID := "abc-123"
	body := []byte(`{"Event-Category":"call_event","Event-Name":"CHANNEL_ANSWER","App-Name":"x","App-Version":"1"}`)
	request := kazoo.Envelope{"Event-Category": "directory", "Event-Name": "authn_req",
		"Method": "REGISTER", "Auth-Realm": "example.com", "Auth-User": "alice"}

	// README: kazoo way
	app := kazoo.Defaults{AppName: "my-service", AppVersion: "1.0"}
	pid, err := tree.SpawnListener(ctx, listener.Spec{
		Name:     "authn",
		Queue:    listener.QueueSpec{Name: "authn", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "authn.req.*", Declare: true, Kind: "topic"}},
		Defaults: app, // the replies' App-Name and App-Version
		Handlers: []listener.Route{{Category: "directory", Name: "authn_req",
			Handler: func(ctx context.Context, d *listener.Delivery) error {
				return d.Reply(ctx, map[string]any{"Event-Category": "directory", "Event-Name": "authn_resp"})
			}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := tree.WaitConsuming(ctx, pid); err != nil { // bound: requests reach it from now on
		log.Fatal(err)
	}
	err = tree.Publish(ctx, "callevt", "call.event."+kazoo.Encode(callID), body, publish.Confirm())
	if err != nil {
		log.Fatal(err)
	}
	reply, err := tree.Call(ctx, rpc.Request{Exchange: "callmgr",
		RoutingKey: kazoo.AuthnReqRoutingKey("example.com"), Envelope: request, Defaults: app})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.Name()) // authn_resp
	// README:end

	// README: pipelined
	var window []*publish.Pending // up to 64 confirms in flight from one goroutine
	for range 1000 {
		if len(window) == 64 {
			if err := window[0].Wait(ctx); err != nil {
				log.Fatal(err) // nacked, or not confirmed by the deadline: it says which
			}
			window = window[1:]
		}
		pd, err := tree.PublishDeferred(ctx, "callevt", "call.event."+kazoo.Encode(callID), body)
		if err != nil {
			log.Fatal(err)
		}
		window = append(window, pd)
	}
	for _, pd := range window {
		if err := pd.Wait(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("1000 confirmed")
	// README:end

	// README: pools
	err = tree.AddPool(ctx, supervisor.PoolSpec{Name: "billing", Kind: supervisor.Workers,
		Broker: primary.Broker, Size: 4}) // pinned to one broker: `warren connections` lists them
	if err != nil {
		log.Fatal(err) // a name in use, a broker or a zone the tree does not know
	}
	reply, err = tree.Call(ctx, rpc.Request{Exchange: "callmgr", Pool: "billing",
		RoutingKey: kazoo.AuthnReqRoutingKey("example.com"), Envelope: request, Defaults: app})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.Name(), "through billing") // authn_resp through billing
	if err := tree.RemovePool(ctx, "billing"); err != nil {
		log.Fatal(err) // its calls in flight did not finish by ctx's deadline (ErrDrainCut)
	}
	// README:end

	if err := exampleTraces(ctx, cfg); err != nil {
		log.Fatal(err)
	}
	fmt.Println("traced tree ready")

	// Output:
	// local connected
	// authn_resp
	// 1000 confirmed
	// authn_resp through billing
	// traced tree ready
}

// exampleTraces starts a traced tree as the README's "Traces" shows
// (nothing listens on the OTLP port: the tree makes no span here, so
// nothing is exported), and stops it.
func exampleTraces(ctx context.Context, cfg supervisor.Config) error {
	// README: traces
	exporter, _ := otlptracehttp.New(ctx) // errs only on a malformed OTEL_EXPORTER_OTLP_* setting
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
	tree, err := supervisor.Start(cfg, supervisor.WithTracerProvider(tp))
	// README:end
	if err != nil {
		return err
	}
	defer func() { _ = tp.Shutdown(ctx) }()
	defer func() { _ = tree.Shutdown(ctx) }()
	return tree.WaitReady(ctx)
}

// exampleConfig writes a Kazoo config.ini naming the examples' broker.
func exampleConfig() string {
	path := filepath.Join(exampleDir(), "config.ini")
	ini := "[zone]\nname = local\namqp_uri = \"" + exampleBroker().URI() + "\"\n"
	if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
		panic(err)
	}
	return path
}

var snippetMarker = regexp.MustCompile(`(?s)// README: [^\n]*\n(.*?)\n\s*// README:end`)

// The README's Go snippets are the regions of Example_readme, byte for byte
// (but for indentation): its code is compiled and run by the example.
func TestREADME_SnippetsAreRunByExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	for _, m := range snippetMarker.FindAllStringSubmatch(string(src), -1) {
		regions = append(regions, dedent(m[1]))
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 || len(blocks) != len(regions) {
		t.Fatalf("README has %d Go snippets, Example_readme %d regions: each snippet must be a region", len(blocks), len(regions))
	}
	for i, b := range blocks {
		if got := strings.TrimRight(b[1], "\n"); got != regions[i] {
			t.Errorf("README snippet %d differs from Example_readme's region %d.\nREADME:\n%s\nexample:\n%s", i+1, i+1, got, regions[i])
		}
	}
}

// dedent removes one level of tab indentation and trailing blank lines.
func dedent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	return strings.Join(lines, "\n")
}
