package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// faultProxy is a toxiproxy proxy (Shopify's fault-injecting TCP proxy,
// run in-process) between Warren and one broker: the network faults of the
// fault suite are toxics on it; the broker-side ones (kill -9, freeze,
// alarm) are the harness's own.
type faultProxy struct {
	proxy *toxiproxy.Proxy
	n     atomic.Int64
}

var registerStall sync.Once

// startFaultProxy starts a proxy to upstream on a free local port; cleanup
// removes its toxics (so stalled links drain) and stops it.
func startFaultProxy(t testing.TB, upstream string) *faultProxy {
	t.Helper()
	registerStall.Do(func() { toxics.Register("warren_stall", new(stallToxic)) })
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(server, fmt.Sprintf("fault-%s", strings.ReplaceAll(t.Name(), "/", "-")), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	f := &faultProxy{proxy: p}
	t.Cleanup(func() {
		for _, tx := range p.Toxics.GetToxicArray() {
			_ = p.Toxics.RemoveToxic(context.Background(), tx.(*toxics.ToxicWrapper).Name)
		}
		p.Stop()
	})
	return f
}

// Addr is where Warren dials instead of the broker.
func (f *faultProxy) Addr() string { return f.proxy.Listen }

// URI is the guest URI through the proxy.
func (f *faultProxy) URI() string { return fmt.Sprintf("amqp://guest:guest@%s/", f.Addr()) }

// add puts a toxic on one direction ("upstream": Warren to broker,
// "downstream": broker to Warren) and returns a function removing it.
func (f *faultProxy) add(t testing.TB, typ, stream, attrs string) (remove func()) {
	t.Helper()
	name := fmt.Sprintf("%s-%s-%d", typ, stream, f.n.Add(1))
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, typ, stream, attrs)
	w, err := f.proxy.Toxics.AddToxicJson(strings.NewReader(js))
	if err != nil {
		t.Fatalf("toxic %s: %v", js, err)
	}
	if s, ok := w.Toxic.(*stallToxic); ok {
		s.sealed.Store(true) // links made from now on pass when existing_only
	}
	var once sync.Once
	return func() {
		once.Do(func() { _ = f.proxy.Toxics.RemoveToxic(context.Background(), name) })
	}
}

// Cut stops forwarding in both directions on every link, existing and new,
// without closing anything: a network that drops packets (no FIN, no RST).
// Senders' socket buffers fill and their writes block. heal lets the bytes
// flow again.
func (f *faultProxy) Cut(t testing.TB) (heal func()) {
	up := f.add(t, "warren_stall", "upstream", `{}`)
	down := f.add(t, "warren_stall", "downstream", `{}`)
	return func() { up(); down() }
}

// CutExisting stalls the links open now, for good, while new connections
// pass: a route that dies under established connections only (a NAT or
// load-balancer entry dropped). It never heals; cleanup frees the links.
func (f *faultProxy) CutExisting(t testing.TB) {
	f.add(t, "warren_stall", "upstream", `{"existing_only":true}`)
	f.add(t, "warren_stall", "downstream", `{"existing_only":true}`)
}

// Latency delays every chunk both ways by ms (± jitter).
func (f *faultProxy) Latency(t testing.TB, ms, jitter int) (remove func()) {
	a := fmt.Sprintf(`{"latency":%d,"jitter":%d}`, ms, jitter)
	up, down := f.add(t, "latency", "upstream", a), f.add(t, "latency", "downstream", a)
	return func() { up(); down() }
}

// Bandwidth limits both directions to kbs kilobytes per second.
func (f *faultProxy) Bandwidth(t testing.TB, kbs int) (remove func()) {
	a := fmt.Sprintf(`{"rate":%d}`, kbs)
	up, down := f.add(t, "bandwidth", "upstream", a), f.add(t, "bandwidth", "downstream", a)
	return func() { up(); down() }
}

// stallToxic stops reading its input until the toxic is removed, so the
// proxy stops reading the socket and the sender's writes block as on a
// real packet-dropping path (toxiproxy's own timeout toxic reads and drops,
// which never blocks a writer). With existing_only, links made after the
// toxic was added (sealed) pass untouched.
type stallToxic struct {
	ExistingOnly bool `json:"existing_only"`
	sealed       atomic.Bool
}

type stallState struct{ stall bool }

func (s *stallToxic) NewState() any {
	return &stallState{stall: !s.ExistingOnly || !s.sealed.Load()}
}

func (s *stallToxic) Pipe(stub *toxics.ToxicStub) {
	if st, _ := stub.State.(*stallState); st != nil && st.stall {
		<-stub.Interrupt
		return
	}
	new(toxics.NoopToxic).Pipe(stub)
}

// proxyGoroutines are toxiproxy's own goroutines of links still open
// through a proxy (a stalled link holds them until the proxy stops).
func proxyGoroutines() []goleak.Option {
	return ignoreAny(
		"github.com/Shopify/toxiproxy/v2.(*ToxicLink).read",
		"github.com/Shopify/toxiproxy/v2.(*ToxicLink).write",
		"github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run",
		"github.com/Shopify/toxiproxy/v2.(*ToxicLink).RemoveToxic",
		"github.com/Shopify/toxiproxy/v2.(*ToxicCollection).chainRemoveToxic",
		"github.com/Shopify/toxiproxy/v2/stream.(*ChanWriter).Write",
	)
}

// notWarrens are the goroutines a scenario's check after Shutdown ignores:
// the proxy's, and the harness's wait on a node it restarted.
func notWarrens() []goleak.Option {
	return append(proxyGoroutines(), ignoreAny("os/exec.(*Cmd).Wait", "os/exec.(*Cmd).Start.func2")...)
}

func ignoreAny(funcs ...string) []goleak.Option {
	var opts []goleak.Option
	for _, f := range funcs {
		opts = append(opts, goleak.IgnoreAnyFunction(f))
	}
	return opts
}
