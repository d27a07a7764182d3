package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/warrenmq/warren/actors"
	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/actors/listener"
	"github.com/warrenmq/warren/actors/publish"
	"github.com/warrenmq/warren/actors/rpc"
	"github.com/warrenmq/warren/internal/testkit/treetest"
	"github.com/warrenmq/warren/registry"
	"github.com/warrenmq/warren/supervisor"
)

// chromiumPath is Debian's chromium, which .ci/install-deps installs.
const chromiumPath = "/usr/bin/chromium"

// The observer (GET /ui) in a real browser against a real tree: the page
// sees its broker killed and back without a reload, and the timeline shows
// both changes. With WARREN_UI_SCREENSHOTS=1 (make screenshots) its
// screenshots go to docs/ui-*.png, else into the test's temporary directory.
func TestUI_BrowserSeesBrokerKilledAndBack(t *testing.T) {
	b := StartBroker(t)
	cfg := oneZone(b.URI())
	cfg.Connection.Backoff = actors.Backoff{First: 200 * time.Millisecond, Max: time.Second}
	tree, _ := treetest.Start(t, cfg)
	waitReady(t, tree, 20*time.Second)
	id := brokerID(t, b)
	uiTraffic(t, tree)
	addr, err := tree.ServeAdmin(within(t, 2*time.Minute), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	shots := t.TempDir()
	if os.Getenv("WARREN_UI_SCREENSHOTS") == "1" {
		shots = filepath.Join("..", "docs")
	}

	page := openBrowser(t)
	step(t, page, "open the observer",
		chromedp.EmulateViewport(1440, 900),
		chromedp.Navigate("http://"+addr.String()+"/ui"),
		chromedp.Evaluate[chromedp.Void](`window.warrenNoReload = true`))
	waitPage(t, page, 10*time.Second, "the stream live", `document.getElementById("live").dataset.state === "live"`)
	row := fmt.Sprintf(`#overview-connections tr[data-key=%s] td[data-field=state]`, strconv.Quote(id))
	stateIs := func(want string) string {
		return fmt.Sprintf(`(document.querySelector(%s) || {}).textContent === %s`, strconv.Quote(row), strconv.Quote(want))
	}
	waitPage(t, page, 10*time.Second, id+" connected", stateIs("connected"))

	b.Kill(t)
	waitPage(t, page, 15*time.Second, id+" disconnected after the kill", fmt.Sprintf(
		`[%q, %q].includes((document.querySelector(%s) || {}).textContent)`, "disconnected", "connecting", strconv.Quote(row)))
	screenshot(t, page, filepath.Join(shots, "ui-disconnected.png"))
	b.Start(t)
	waitPage(t, page, 20*time.Second, id+" connected again", stateIs("connected"))
	if noReload, err := chromedp.Run(page, chromedp.Evaluate[bool](`window.warrenNoReload === true`)); err != nil || !noReload {
		t.Fatalf("the page was reloaded (%v): it must follow the tree live", err)
	}

	// The timeline: the connection went down, then up again.
	timeline := fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll("#overview-timeline tr[data-table=timeline]")].map((tr) => ({
			id: tr.querySelector("[data-field=id]").textContent,
			from: tr.querySelector("[data-field=from]").textContent,
			to: tr.querySelector("[data-field=to]").textContent}));
		const mine = rows.filter((r) => r.id === %s).reverse(); // oldest first
		const down = mine.findIndex((r) => r.from === "connected" && r.to !== "connected");
		return down >= 0 && mine.slice(down + 1).some((r) => r.to === "connected");
	})()`, strconv.Quote(id))
	waitPage(t, page, 5*time.Second, "the timeline showing "+id+" down then up", timeline)
	waitPage(t, page, 20*time.Second, "every listener and worker back (the overview's n/n cards)", `[...document.querySelectorAll("#tab-overview .card-value")].every((v) => {
		const m = v.textContent.match(/^(\d+)\/(\d+)$/);
		return !m || m[1] === m[2];
	})`)
	screenshot(t, page, filepath.Join(shots, "ui-overview.png"))

	// A listener's details, and the tree.
	listenerRow := `#listeners tr[data-key="warren/listeners/authn"]`
	step(t, page, "open the authn listener",
		chromedp.Click(chromedp.CSS(`#tabs button[data-tab=listeners]`)),
		chromedp.WaitVisible(chromedp.CSS(listenerRow)),
		chromedp.Click(chromedp.CSS(listenerRow)),
		chromedp.WaitVisible(chromedp.CSS(`#detail dd[data-field=queue]`)))
	waitPage(t, page, 5*time.Second, "the listener consuming in its details",
		`(document.querySelector("#detail dd[data-field=state]") || {}).textContent === "consuming"`)
	step(t, page, "open the tree",
		chromedp.Click(chromedp.CSS(`#detail-close`)),
		chromedp.Click(chromedp.CSS(`#tabs button[data-tab=tree]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tree .node-line[data-path="warren/listeners/authn"]`)))
	screenshot(t, page, filepath.Join(shots, "ui-tree.png"))

	// Publishers and workers: the confirms and calls of uiTraffic, timed.
	done := func(card string, n int) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#%s .card")].some((c) =>
			c.querySelector(".card-title").textContent.endsWith(" done") &&
			Number(c.querySelector(".card-value").textContent.replace(/,/g, "")) >= %d)`, card, n)
	}
	// timed: some row of table has a time (" ms") in its column label.
	timed := func(table, label string) string {
		return fmt.Sprintf(`(() => { const t = document.querySelector('table[data-table=%s]'); if (!t) return false;
			const i = [...t.querySelectorAll("thead th")].findIndex((th) => th.dataset.sort === %q);
			return i >= 0 && [...t.querySelectorAll("tbody tr")].some((tr) => (tr.children[i]?.textContent || "").endsWith(" ms")); })()`, table, label)
	}
	step(t, page, "open the publishers", chromedp.Click(chromedp.CSS(`#tabs button[data-tab=publishers]`)))
	waitPage(t, page, 5*time.Second, "200 confirms done", done("confirms", 200))
	waitPage(t, page, 5*time.Second, "a publisher's confirm mean", timed("publishers", "confirm_mean_ms"))
	screenshot(t, page, filepath.Join(shots, "ui-publishers.png"))
	step(t, page, "open the workers", chromedp.Click(chromedp.CSS(`#tabs button[data-tab=workers]`)))
	waitPage(t, page, 5*time.Second, "20 calls done", done("calls", 20))
	waitPage(t, page, 5*time.Second, "a worker's mean call time", timed("workers", "mean_ms"))

	uiThousandListeners(t, tree, page, id)
	screenshot(t, page, filepath.Join(shots, "ui-listeners.png"))
}

// uiThousandListeners checks the listeners tab with 1,000 more rows: paging,
// sorting, filtering. The rows are written by hand, as 1,000 listeners
// would write theirs: the page is under test here, not the listeners.
func uiThousandListeners(t *testing.T, tree *supervisor.Tree, page context.Context, broker string) {
	t.Helper()
	const n = 1000
	// The tree's listeners writer, from its Env, as a listener spawned by
	// embedding code gets it; one commit a row, as 1,000 listeners make.
	w := tree.Env().Listeners
	for i := range n {
		name := fmt.Sprintf("bulk-%04d", i)
		if err := w.PutListener(registry.Listener{Path: "warren/listeners/" + name, Name: name, Queue: "q-" + name,
			Bindings: []string{"callevt/call.event." + name, "registrar/registration.success.*"}, Broker: broker,
			Zone: "local", State: registry.ListenerConsuming, Since: time.Now(), Received: uint64(i), Acked: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range n {
			_ = w.DeleteListener(fmt.Sprintf("warren/listeners/bulk-%04d", i))
		}
	})
	info := `(document.querySelector("#listeners .toolbar .muted") || {}).textContent === `
	step(t, page, "open the listeners", chromedp.Click(chromedp.CSS(`#tabs button[data-tab=listeners]`)))
	waitPage(t, page, 10*time.Second, "1,003 listeners, 50 a page", info+`"1–50 of 1,003"`)
	step(t, page, "the next page", chromedp.Click(chromedp.CSS(`#listeners button[data-page=next]`)))
	waitPage(t, page, 5*time.Second, "the second page", info+`"51–100 of 1,003"`)
	step(t, page, "sort by received, most first", chromedp.Click(chromedp.CSS(`#listeners th[data-sort=received]`)))
	waitPage(t, page, 5*time.Second, "bulk-0999 first, on page 1", info+`"1–50 of 1,003" && `+
		`document.querySelector("#listeners tbody tr").dataset.key === "warren/listeners/bulk-0999"`)
	filter := `#listeners input[data-filter=listeners]`
	step(t, page, "filter bulk-099", chromedp.SendKeys(chromedp.CSS(filter), "bulk-099"))
	waitPage(t, page, 5*time.Second, "the 10 listeners bulk-0990…0999", info+`"1–10 of 10"`)
	step(t, page, "clear the filter", chromedp.Evaluate[chromedp.Void](
		`(e => { e.value = ""; e.dispatchEvent(new Event("input")); })(document.querySelector("`+filter+`"))`))
	waitPage(t, page, 5*time.Second, "all of them again", info+`"1–50 of 1,003"`)
	step(t, page, "open bulk-0999", chromedp.Click(chromedp.CSS(`#listeners tr[data-key="warren/listeners/bulk-0999"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail dd[data-field=bindings]`)))
}

// uiTraffic gives the observer something to show: listeners, confirmed
// publishes and calls answered by one of them.
func uiTraffic(t *testing.T, tree *supervisor.Tree) {
	t.Helper()
	ctx := within(t, 30*time.Second)
	app := kazoo.Defaults{AppName: "ui-test", AppVersion: "1.0"}
	spawnListener(t, tree, listener.Spec{
		Name:     "authn",
		Queue:    listener.QueueSpec{Name: "ui-authn", AutoDelete: true},
		Bindings: []listener.Binding{{Exchange: "callmgr", RoutingKey: "authn.req.*"}},
		Defaults: app,
		Handlers: []listener.Route{{Category: "directory", Name: "authn_req",
			Handler: func(ctx context.Context, d *listener.Delivery) error {
				return d.Reply(ctx, map[string]any{"Event-Category": "directory", "Event-Name": "authn_resp"})
			}}},
	})
	for name, category := range map[string]string{"callevt": "call_event", "registrar": "directory"} {
		spawnListener(t, tree, listener.Spec{
			Name:     name,
			Queue:    listener.QueueSpec{Name: "ui-" + name, AutoDelete: true},
			Bindings: []listener.Binding{{Exchange: name, RoutingKey: "#"}},
			Handlers: []listener.Route{{Category: category, Handler: func(context.Context, *listener.Delivery) error { return nil }}},
		})
	}
	body := []byte(`{"Event-Category":"call_event","Event-Name":"CHANNEL_ANSWER","App-Name":"ui-test","App-Version":"1.0"}`)
	for i := range 200 {
		if err := tree.Publish(ctx, "callevt", "call.event."+kazoo.Encode(strconv.Itoa(i)), body, publish.Confirm()); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	request := kazoo.Envelope{"Event-Category": "directory", "Event-Name": "authn_req",
		"Method": "REGISTER", "Auth-Realm": "example.com", "Auth-User": "alice"}
	for i := range 20 {
		if _, err := tree.Call(ctx, rpc.Request{Exchange: "callmgr", RoutingKey: kazoo.AuthnReqRoutingKey("example.com"),
			Envelope: request, Defaults: app}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// openBrowser starts a headless Chromium of its own (a fresh profile, no
// network of its own) and returns the context of its tab; it stops at
// cleanup.
func openBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s: %v; install Debian's chromium: .ci/install-deps (or apt-get install chromium)", chromiumPath, err)
	}
	alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	page, closePage := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		closePage()
		stopAlloc()
	})
	// The first Run starts the browser; it lives as long as page.
	if err := chromedp.Do(page); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return page
}

// step runs browser actions, at most 20s.
func step(t *testing.T, page context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// waitPage waits until the JavaScript expression is true in the page.
func waitPage(t *testing.T, page context.Context, d time.Duration, what, expr string) {
	t.Helper()
	start := time.Now()
	_, err := chromedp.Run(page, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		text, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.querySelector(".tab.active").innerText`))
		t.Fatalf("browser: %s not seen within %v: %v; the page shows:\n%s", what, d, err, tail(text, 40))
	}
	t.Logf("browser: %s after %v", what, time.Since(start).Round(time.Millisecond))
}

// screenshot writes the whole page as a PNG.
func screenshot(t *testing.T, page context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(page, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
