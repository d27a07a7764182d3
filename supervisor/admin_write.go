package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/warrenmq/warren/internal/redact"
)

// AdminMaxBody caps the body of a write request to the admin API; a
// longer one is answered 413.
const AdminMaxBody = 64 << 10

// adminWriteRoute is one write endpoint of the admin API: its method, its
// net/http pattern ("/brokers/{id}/drain") and what serves it once the
// request is authenticated. serve answers with a status and a body
// (an [AdminChange], or an [AdminError]).
type adminWriteRoute struct {
	method  string
	pattern string
	serve   func(t *Tree, req *http.Request) (int, any)
}

// adminWrites are the admin API's write endpoints: one line each.
var adminWrites = []adminWriteRoute{
	{http.MethodPost, "/brokers", (*Tree).adminAddBroker},
	{http.MethodDelete, "/brokers/{id}", (*Tree).adminRemoveBroker},
	{http.MethodPost, "/brokers/{id}/drain", (*Tree).adminDrainBroker},
	{http.MethodPost, "/brokers/{id}/undrain", (*Tree).adminUndrainBroker},
	{http.MethodPost, "/listeners/{name}/stop", (*Tree).adminStopListener},
	{http.MethodPost, "/pools", (*Tree).adminAddPool},
	{http.MethodDelete, "/pools/{name}", (*Tree).adminRemovePool},
}

// AdminChange is the body of a write's success: what changed.
type AdminChange struct {
	Action  string `json:"action"`  // "added", "removed", "drained", "undrained", "stopped"
	Kind    string `json:"kind"`    // "broker", "listener", "pool"
	ID      string `json:"id"`      // the broker id or listener name
	Message string `json:"message"` // one line for a human, never a password
}

// writeRouter dispatches the write endpoints: the path's pattern, then the
// method (405 listing the allowed ones), then the bearer token (401).
// read is the GET answer of a path that also takes a write (GET /brokers).
type writeRouter struct {
	t        *Tree
	mux      *http.ServeMux
	patterns []string // sorted, for 404's list
}

// newWriteRouter builds the dispatcher of adminWrites; reads are the GET
// routes, consulted when a write path is read.
func newWriteRouter(t *Tree, token string, reads map[string]func() (int, any)) *writeRouter {
	byPattern := map[string]map[string]adminWriteRoute{}
	for _, w := range adminWrites {
		if byPattern[w.pattern] == nil {
			byPattern[w.pattern] = map[string]adminWriteRoute{}
		}
		byPattern[w.pattern][w.method] = w
	}
	r := &writeRouter{t: t, mux: http.NewServeMux()}
	for pattern, methods := range byPattern {
		r.patterns = append(r.patterns, pattern)
		read := reads[pattern]
		r.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.serve(w, req, methods, read, token)
		}))
	}
	sort.Strings(r.patterns)
	return r
}

// match tells whether req's path is a write path: then r.mux serves it
// (ServeHTTP, which also sets the path's values).
func (r *writeRouter) match(req *http.Request) bool {
	_, pattern := r.mux.Handler(req)
	return pattern != "" && !strings.HasSuffix(req.URL.Path, "/")
}

func (r *writeRouter) serve(w http.ResponseWriter, req *http.Request, methods map[string]adminWriteRoute,
	read func() (int, any), token string) {
	route, ok := methods[req.Method]
	switch {
	case !ok && read != nil && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		code, body := read()
		writeJSON(w, code, body)
		return
	case !ok:
		allowed := make([]string, 0, len(methods)+2)
		if read != nil {
			allowed = append(allowed, http.MethodGet, http.MethodHead)
		}
		for m := range methods {
			allowed = append(allowed, m)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, AdminError{Error: fmt.Sprintf(
			"method %q not allowed on %s: use %s", adminClip(req.Method, adminEchoMax), adminClip(req.URL.Path, adminEchoMax),
			strings.Join(allowed, " or "))})
		return
	case !bearerOK(req, token):
		w.Header().Set("WWW-Authenticate", `Bearer realm="warren admin"`)
		why := "no or wrong admin token: send Authorization: Bearer TOKEN, the token in the file warren run wrote (" +
			"see `warren run --help`: --admin-token-file, $WARREN_ADMIN_TOKEN)"
		if token == "" {
			why = "writes are refused: this admin API has no token (serve it with Tree.ServeAdmin)"
		}
		writeJSON(w, http.StatusUnauthorized, AdminError{Error: why})
		return
	}
	req.Body = http.MaxBytesReader(w, req.Body, AdminMaxBody)
	code, body := route.serve(r.t, req)
	writeJSON(w, code, body)
}

// decodeBody reads req's JSON body into v: unknown fields, a second value
// and more than AdminMaxBody bytes are refused; an empty body leaves v as
// it is when optional. The error is the answer to give; it never quotes a
// value of the body.
func decodeBody(req *http.Request, v any, optional bool) (int, *AdminError) {
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && optional {
		return 0, nil
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err == nil {
		return 0, nil
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, &AdminError{Error: fmt.Sprintf("request body over %d bytes", AdminMaxBody)}
	}
	if errors.Is(err, io.EOF) {
		return http.StatusBadRequest, &AdminError{Error: "request body: want a JSON object, got nothing"}
	}
	return http.StatusBadRequest, &AdminError{Error: "request body: " + redact.Clip(redact.Text(jsonCause(err)), 200)}
}

// jsonCause names what is wrong with a body without quoting its values
// (an UnmarshalTypeError names the field and the types only).
func jsonCause(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: want a %s, got a %s", typ.Field, typ.Type, typ.Value)
	}
	return err.Error() // unknown field "x", more than one value: no values
}

// adminFail is an error answer, its text redacted.
func adminFail(code int, err error) (int, any) {
	return code, AdminError{Error: redact.Error(err)}
}
