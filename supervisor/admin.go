package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// AdminHandler returns the tree's read-only admin API, which the CLI's
// listings (`warren tree`, `connections`, `channels`, `listeners`, `workers`)
// read. Every answer is JSON:
//
//	GET /tree         the supervision tree, root "warren" ([registry.TreeNode])
//	GET /connections  one [AdminConnection] per broker
//	GET /channels     one [AdminChannel] per assignments row
//	GET /listeners    one [AdminListener] per listener
//	GET /publishers   the publishers pool and its counters ([AdminPublishers])
//	GET /workers      the RPC workers and their counters ([AdminWorkers])
//	GET /status       readiness, each zone's primary broker, pool states ([AdminStatus])
//	GET /zones        one [AdminZoneRow] per zone: brokers up, primary, federators
//	GET /metrics      Prometheus metrics, text format ([Tree.Collector], Go runtime, process)
//	GET /healthz      200 while the tree runs, 503 once it stopped ([AdminHealth])
//	GET /readyz       200 when [Tree.Ready], else 503 saying why ([AdminReadiness])
//	GET /ui           the observer: a web page of the live tree (HTML; its files under /ui/)
//	GET /ui/events    the observer's server-sent events: a snapshot, then changes ([UIUpdate])
//
// Other paths answer 404 and other methods 405, with an [AdminError].
// URIs and error texts never carry a password. The handler is safe for
// concurrent use; it reads the registry in lock-free snapshots. The
// observer's timeline holds the changes its streams saw; [Tree.ServeAdmin]
// also records them while no page is open.
func (t *Tree) AdminHandler() http.Handler { return t.adminHandler(&uiServer{t: t}) }

// adminHandler is AdminHandler with the observer ui, whose timeline
// ServeAdmin also feeds while no page is open.
func (t *Tree) adminHandler(ui *uiServer) http.Handler {
	routes := map[string]func() (int, any){
		"/tree":        func() (int, any) { return http.StatusOK, t.adminTree() },
		"/connections": func() (int, any) { return http.StatusOK, adminConnections(t.Registry()) },
		"/channels":    func() (int, any) { return http.StatusOK, adminChannels(t.Registry()) },
		"/listeners":   func() (int, any) { return http.StatusOK, adminListeners(t.Registry()) },
		"/publishers":  func() (int, any) { return http.StatusOK, adminPublishers(t.Registry()) },
		"/workers":     func() (int, any) { return http.StatusOK, t.adminWorkers() },
		"/status":      func() (int, any) { return http.StatusOK, t.adminStatus() },
		"/zones":       func() (int, any) { return http.StatusOK, t.adminZones() },
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
	names := []string{"/metrics", "/ui", "/ui/events"}
	for path := range routes {
		names = append(names, path)
	}
	sort.Strings(names)
	known := strings.Join(names, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		route, ok := routes[req.URL.Path]
		page, isPage := pages[req.URL.Path]
		switch {
		case !ok && !isPage:
			writeJSON(w, http.StatusNotFound, AdminError{Error: fmt.Sprintf(
				"no such endpoint %s: try one of %s", req.URL.Path, known)})
		case req.Method != http.MethodGet:
			w.Header().Set("Allow", http.MethodGet)
			writeJSON(w, http.StatusMethodNotAllowed, AdminError{Error: fmt.Sprintf(
				"method %s not allowed: the admin API is read-only, use GET", req.Method)})
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

// ServeAdmin serves [Tree.AdminHandler] on addr until ctx ends or the tree
// stops, and returns the address it bound (so "127.0.0.1:0" works).
//
// An empty addr means [DefaultAdminAddr]; an address without a host
// (":7117") means the loopback interface, never every interface. The API has
// no authentication: only an address that names a non-loopback host binds
// one, and that is logged as a warning.
func (t *Tree) ServeAdmin(ctx context.Context, addr string) (net.Addr, error) {
	addr, public, err := adminListenAddr(addr)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("warren: admin API: %w", err)
	}
	log := t.adminLog()
	if public {
		log.Warn("admin API listening on a non-loopback address; it has no authentication", "addr", ln.Addr().String())
	}
	ui := &uiServer{t: t}
	handler := t.adminHandler(ui)
	if !public {
		handler = hostGuard(ln.Addr(), handler)
	}
	// Requests live within serving: the observer's streams end when it stops.
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return serving },
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin API stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go ui.record(serving)
	go func() {
		select {
		case <-ctx.Done():
		case <-t.done:
		}
		stopServing()
		sctx, cancel := context.WithTimeout(context.Background(), adminShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}()
	return ln.Addr(), nil
}

// hostGuard answers 421 to a request whose Host header is not the loopback
// address the admin API serves: a web page the operator opens cannot make
// their browser read the API through a DNS name that resolves to 127.0.0.1
// (DNS rebinding). Clients that dial the address (the CLI, curl) send it as
// their Host.
func hostGuard(addr net.Addr, next http.Handler) http.Handler {
	_, port, _ := net.SplitHostPort(addr.String())
	allowed := map[string]bool{addr.String(): true, "localhost:" + port: true,
		"127.0.0.1:" + port: true, "[::1]:" + port: true}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !allowed[strings.ToLower(req.Host)] {
			writeJSON(w, http.StatusMisdirectedRequest, AdminError{Error: fmt.Sprintf(
				"host %q is not this admin API's address (%s): requests must name it", req.Host, addr)})
			return
		}
		next.ServeHTTP(w, req)
	})
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
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
