package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// DefaultAdminAddr is where [Tree.ServeAdmin] listens when given no address.
const DefaultAdminAddr = "127.0.0.1:7117"

// adminShutdownGrace bounds how long ServeAdmin waits for requests in flight
// once it stops.
const adminShutdownGrace = 5 * time.Second

// AdminHandler returns the tree's admin API, which the CLI's listings
// (`warren tree`, `connections`, `channels`, `listeners`, `workers`) read
// and its commands (`warren brokers add`, `drain`…) write. Every answer is
// JSON:
//
//	GET /brokers      one [AdminBrokerSummary] per broker (Kazoo's broker_summary)
//	GET /tree         the supervision tree, root "warren" ([registry.TreeNode])
//	GET /connections  one [AdminConnection] per broker
//	GET /channels     one [AdminChannel] per assignments row
//	GET /listeners    one [AdminListener] per listener
//	GET /publishers   the publishers pool and its counters ([AdminPublishers])
//	GET /workers      the RPC workers and their counters ([AdminWorkers])
//	GET /pools        every pool, the zones' own first ([PoolInfo])
//	GET /status       readiness, each zone's primary broker, pool states ([AdminStatus])
//	GET /zones        one [AdminZoneRow] per zone: brokers up, primary, federators
//	GET /nodes        every node heard on Kazoo's "nodes" exchange ([registry.Node])
//	GET /metrics      Prometheus metrics, text format ([Tree.Collector], Go runtime, process)
//	GET /healthz      200 while the tree runs, 503 once it stopped ([AdminHealth])
//	GET /readyz       200 when [Tree.Ready], else 503 saying why ([AdminReadiness])
//	GET /ui           the observer: a web page of the live tree (HTML; its files under /ui/)
//	GET /ui/events    the observer's server-sent events: a snapshot, then changes ([UIUpdate])
//
// HEAD is answered for each of them, with the headers of a GET and no
// body. The writes take and answer JSON ([AdminChange] on success):
//
//	POST   /brokers                 add a broker ([AdminAddBroker]): 201
//	DELETE /brokers/{id}            remove one
//	POST   /brokers/{id}/drain      drain one ([AdminDrain]), answered once drained
//	POST   /brokers/{id}/undrain    undrain one
//	POST   /listeners/{name}/stop   drain and stop a listener
//	POST   /pools                   add a named pool ([AdminAddPool]): 201
//	DELETE /pools/{name}            remove one
//
// A write needs "Authorization: Bearer TOKEN", the token [Tree.ServeAdmin]
// serves with (else 401 with WWW-Authenticate: Bearer); the handler
// AdminHandler returns has none, so it refuses every write. A write's body
// is capped at [AdminMaxBody] and may hold no unknown field. Other paths
// answer 404 (quoting at most the path's first adminEchoMax bytes) and
// other methods 405 with an Allow header, with an [AdminError]. URIs and
// error texts never carry a password. The handler is safe for concurrent
// use; it reads the registry in lock-free snapshots. The observer's streams
// share one snapshot per change of the tables and are capped at
// [DefaultAdminMaxStreams] (503 past it); its timeline holds the changes
// its streams saw, and [Tree.ServeAdmin] also records them while no page is
// open.
func (t *Tree) AdminHandler() http.Handler {
	return t.adminHandler(newUIServer(t, DefaultAdminMaxStreams), "")
}

// adminEchoMax is how much of a request's path, method or Host an error
// answer quotes.
const adminEchoMax = 64

// adminHandler is AdminHandler with the observer ui, whose timeline
// ServeAdmin also feeds while no page is open, and the writes' token ("":
// writes refused).
func (t *Tree) adminHandler(ui *uiServer, token string) http.Handler {
	routes := map[string]func() (int, any){
		"/brokers":     func() (int, any) { return http.StatusOK, t.adminBrokers() },
		"/pools":       func() (int, any) { return http.StatusOK, t.adminPools() },
		"/tree":        func() (int, any) { return http.StatusOK, t.adminTree() },
		"/connections": func() (int, any) { return http.StatusOK, adminConnections(t.Registry()) },
		"/channels":    func() (int, any) { return http.StatusOK, adminChannels(t.Registry()) },
		"/listeners":   func() (int, any) { return http.StatusOK, adminListeners(t.Registry()) },
		"/publishers":  func() (int, any) { return http.StatusOK, adminPublishers(t.Registry()) },
		"/workers":     func() (int, any) { return http.StatusOK, t.adminWorkers() },
		"/status":      func() (int, any) { return http.StatusOK, t.adminStatus() },
		"/zones":       func() (int, any) { return http.StatusOK, t.adminZones() },
		"/nodes":       func() (int, any) { return http.StatusOK, adminNodes(t.Registry()) },
		"/healthz": func() (int, any) {
			h, alive := t.adminHealth()
			return statusIf(alive), h
		},
		"/readyz": func() (int, any) {
			r, ready := t.adminReadiness()
			return statusIf(ready), r
		},
	}
	pages := ui.routes() // answers of their own: HTML, files, a stream, Prometheus's text
	pages["/metrics"] = t.metricsHandler()
	writes := newWriteRouter(t, token, routes)
	names := []string{"/metrics", "/ui", "/ui/events"}
	for path := range routes {
		names = append(names, path)
	}
	for _, p := range writes.patterns {
		if routes[p] == nil {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	known := strings.Join(names, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if writes.match(req) {
			writes.mux.ServeHTTP(w, req)
			return
		}
		route, ok := routes[req.URL.Path]
		page, isPage := pages[req.URL.Path]
		switch {
		case !ok && !isPage:
			writeJSON(w, http.StatusNotFound, AdminError{Error: fmt.Sprintf(
				"no such endpoint %q: try one of %s", adminClip(req.URL.Path, adminEchoMax), known)})
		case req.Method != http.MethodGet && req.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, AdminError{Error: fmt.Sprintf(
				"method %q not allowed on %s: use GET or HEAD", adminClip(req.Method, adminEchoMax), adminClip(req.URL.Path, adminEchoMax))})
		case isPage:
			page.ServeHTTP(w, req)
		default:
			code, body := route()
			writeJSON(w, code, body)
		}
	})
}

func statusIf(ok bool) int {
	if ok {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body) // the client went away; nothing to tell it
}

// ServeAdmin serves [Tree.AdminHandler] on addr in the background until the
// tree stops ([Tree.Shutdown], or the tree failing), and returns the
// address it bound (so "127.0.0.1:0" works).
//
// # Lifetime
//
// ctx bounds the start only, binding the address, as with
// [net.ListenConfig.Listen]: the server's lifetime is the tree's, so the
// ctx of a start-up deadline (WaitReady's, say) ending later stops nothing.
// To stop it before the tree, give [WithAdminUntil] a context of its own;
// the server stops when either ends and logs at Info why it stopped. Once
// stopped, requests in flight get adminShutdownGrace (5 s) to finish and
// the observer's event streams end.
//
// # Address
//
// An empty addr means [DefaultAdminAddr]; an address without a host
// (":7117") means the loopback interface, never every interface. Only an
// address that names a non-loopback host binds one, and that is logged as
// a warning: the reads have no authentication.
//
// # Writes
//
// Writes need the bearer token given by [WithAdminToken], else one
// generated here (32 bytes of crypto/rand, hex). Either is written to
// [AdminTokenFile] of the bound address, mode 0600 in a 0700 directory
// ([AdminTokenDir]), where the CLI finds it; the file is removed when the
// server stops. The token is never logged.
//
// # Limits
//
// Whatever the address, a request must name in its Host header the bound
// host, localhost, an IP literal or a name added by [WithAdminAllowHosts];
// others are answered 421 (a web page cannot read the API through a DNS
// name it points at this host). The server's limits: [AdminReadHeaderTimeout],
// [AdminReadTimeout], [AdminWriteTimeout] (an event stream's own bound is
// per event), [AdminIdleTimeout], at most [WithAdminMaxConns] connections
// and [WithAdminMaxStreams] event streams.
func (t *Tree) ServeAdmin(ctx context.Context, addr string, opts ...AdminOption) (net.Addr, error) {
	s, err := t.serveAdmin(ctx, addr, opts...)
	if err != nil {
		return nil, err
	}
	return s.addr, nil
}

// adminServer is what ServeAdmin started, for its tests.
type adminServer struct {
	addr      net.Addr
	ln        *capListener
	ui        *uiServer
	token     string
	tokenFile string
	stopped   chan struct{} // closed once stopped and its token file removed
}

// serveAdmin is ServeAdmin.
func (t *Tree) serveAdmin(ctx context.Context, addr string, opts ...AdminOption) (*adminServer, error) {
	o := defaultAdminOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.maxConns <= o.maxStreams {
		return nil, fmt.Errorf("warren: admin API: connection cap %d: need more than the stream cap %d", o.maxConns, o.maxStreams)
	}
	addr, public, err := adminListenAddr(addr)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	raw, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("warren: admin API: %w", err)
	}
	log := t.adminLog()
	if public {
		log.Warn("admin API listening on a non-loopback address; its reads have no authentication", "addr", raw.Addr().String())
	}
	token, tokenFile, err := adminTokenFor(o.token, raw.Addr().String())
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	ln := newCapListener(raw, o.maxConns, log)
	ui := newUIServer(t, o.maxStreams)
	bound, _, _ := net.SplitHostPort(addr)
	handler := hostGuard(raw.Addr(), bound, o.allowHosts, t.adminHandler(ui, token))
	// Requests live within serving: the observer's streams end when it
	// stops. ctx was the start's: the server outlives it.
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: AdminReadHeaderTimeout,
		ReadTimeout:       AdminReadTimeout,
		WriteTimeout:      AdminWriteTimeout,
		IdleTimeout:       AdminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		ConnState:         ln.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return serving },
	}
	ui.hub.start(serving)
	stopped := make(chan struct{})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin API stopped", "addr", raw.Addr().String(), "err", err)
		}
	}()
	go func() {
		why := "the tree stopped"
		select {
		case <-o.until: // nil without WithAdminUntil: never
			why = "its WithAdminUntil context ended"
		case <-t.done:
		}
		log.Info("admin API stopping", "addr", raw.Addr().String(), "why", why)
		stopServing()
		sctx, cancel := context.WithTimeout(context.Background(), adminShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		removeAdminToken(tokenFile, token)
		close(stopped)
	}()
	return &adminServer{addr: raw.Addr(), ln: ln, ui: ui, token: token, tokenFile: tokenFile, stopped: stopped}, nil
}

// adminListenAddr resolves the address ServeAdmin binds and tells whether it
// is reachable from other hosts.
func adminListenAddr(addr string) (string, bool, error) {
	if addr == "" {
		return DefaultAdminAddr, false, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("warren: admin API address %q: want host:port, e.g. %s", addr, DefaultAdminAddr)
	}
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port), false, nil
	}
	if host == "localhost" {
		return addr, false, nil
	}
	ip := net.ParseIP(host)
	return addr, ip == nil || !ip.IsLoopback(), nil
}

func (t *Tree) adminLog() *slog.Logger {
	if t.env != nil && t.env.Log != nil {
		return t.env.Log.With("actor", "admin")
	}
	return slog.New(slog.DiscardHandler)
}
