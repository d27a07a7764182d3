package supervisor

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// hostGuard answers 421 to a request whose Host header names none of the
// hosts the admin API answers to: the host of the address it was given
// (bound), localhost, an IP literal, or one of allow. A web page the
// operator opens cannot make their browser read the API through a DNS name
// that resolves to this host (DNS rebinding): that request names the
// page's host. An IP literal cannot be rebound, so it is always allowed,
// as is a request with no Host (HTTP/1.0; no browser sends one). The port is
// not checked: a proxy may forward another. This holds for every address,
// 0.0.0.0 included.
func hostGuard(addr net.Addr, bound string, allow []string, next http.Handler) http.Handler {
	allowed := map[string]bool{"localhost": true}
	if h, err := adminHostName(bound); err == nil {
		allowed[h] = true
	}
	for _, h := range allow {
		allowed[h] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !hostAllowed(req.Host, allowed) {
			writeJSON(w, http.StatusMisdirectedRequest, AdminError{Error: fmt.Sprintf(
				"host %q is not a name of this admin API (%s): requests must name its address, localhost or an IP, "+
					"or a name it was told to allow (warren run --admin-allow-host NAME)", adminClip(req.Host, adminEchoMax), addr)})
			return
		}
		next.ServeHTTP(w, req)
	})
}

// hostAllowed tells whether a Host header names an allowed host.
func hostAllowed(host string, allowed map[string]bool) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if net.ParseIP(host) != nil {
		return true
	}
	return allowed[host]
}
