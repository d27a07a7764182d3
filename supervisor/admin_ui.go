package supervisor

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// The observer: a web page of the live tree at /ui, fed by a server-sent
// event stream at /ui/events. Its files are embedded; building Warren
// needs no JavaScript toolchain.

//go:embed ui/index.html ui/app.js ui/style.css
var uiFiles embed.FS

// uiCoalesce is the shortest time between two updates of one stream: the
// changes of a busy tree (1,000 listeners counting deliveries) reach the
// browser at most this often.
const uiCoalesce = 250 * time.Millisecond

// uiTick is how often the rates are computed (and an update sent when they
// changed).
const uiTick = time.Second

// uiWriteTimeout bounds the write of one event: a client that stops
// reading ends its stream.
const uiWriteTimeout = 10 * time.Second

// uiRetry is how long a browser waits before it reconnects a stream that
// broke (EventSource's retry field).
const uiRetry = time.Second

// uiPolicy is the page's Content-Security-Policy: its own files only, no
// inline script or style, no framing.
const uiPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiServer serves the observer of one admin handler. Its timeline and its
// hub's snapshots are shared by every stream. It is safe for concurrent use.
type uiServer struct {
	t        *Tree
	timeline uiTimeline
	hub      *uiHub
}

func newUIServer(t *Tree, maxStreams int) *uiServer {
	u := &uiServer{t: t}
	u.hub = newUIHub(u, maxStreams)
	return u
}

// routes are the observer's paths.
func (u *uiServer) routes() map[string]http.Handler {
	return map[string]http.Handler{
		"/ui":           u.file("index.html"),
		"/ui/":          http.HandlerFunc(uiRedirect),
		"/ui/app.js":    u.file("app.js"),
		"/ui/style.css": u.file("style.css"),
		"/ui/events":    http.HandlerFunc(u.events),
	}
}

// uiRedirect sends /ui/ to /ui: the page's links are relative to /ui, so
// that it works under any prefix a service mounts the handler at (which is
// why the Location is relative too; http.Redirect would make it absolute).
func uiRedirect(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Location", "../ui")
	w.WriteHeader(http.StatusFound)
}

// file serves one embedded file.
func (u *uiServer) file(name string) http.Handler {
	body, err := fs.ReadFile(uiFiles, path.Join("ui", name))
	if err != nil {
		panic("warren: observer: " + name + " is not embedded: " + err.Error()) // a build error
	}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8"}
	ctype := types[path.Ext(name)]
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", uiPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(body) // the client went away
	})
}
