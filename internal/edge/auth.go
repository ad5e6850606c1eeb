package edge

import (
	"net/http"
	"strings"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/token"
)

// Auth mode: a forwarding proxy (nginx auth_request, Caddy forward_auth,
// HAProxy, Envoy ext_authz, Traefik ForwardAuth) asks the edge about each
// viewer request and serves it itself. The edge reads the original
// request from the proxy's headers, runs the same checks, and answers the
// verdict only: 200 with what it established in response headers, or the
// refusal's status (401 and 403 by default, configurable per reason as in
// serve mode) without a body or a reason: some proxies pass a refusal to
// the viewer as it is, and the reason is in the access event.

// Headers that describe the original request, in the order they are
// looked for, in canonical form (read from the map directly: no
// allocation). X-Forwarded-Host is not read: routes match paths.
var (
	authURIHeaders    = []string{"X-Original-Uri", "X-Forwarded-Uri"}
	authMethodHeaders = []string{"X-Original-Method", "X-Forwarded-Method"}
)

// Response headers of auth mode: the proxy copies them into its own
// request to the origin (the origin path) or its log (the session).
const (
	// HeaderOriginPath is the original path without the token, normalized.
	HeaderOriginPath = "X-Smd-Origin-Path"
	// HeaderSession is the token's session id when its signature proves it.
	HeaderSession = "X-Smd-Session"
	// HeaderKeyID names the key that verified the token.
	HeaderKeyID = "X-Smd-Key-Id"
	// HeaderVerdict is the access event's verdict of a request let
	// through: allow, log_deny (a log route passed a bad token) or
	// unchecked (an off route).
	HeaderVerdict = "X-Smd-Verdict"
)

// describe reads the original request the auth request's headers
// describe: the URI (required: a header, or the auth request's own URI
// after Config.AuthPathPrefix) and the method (default: the auth
// request's own). The other headers (User-Agent, Referer, Origin,
// forwarding and geo headers) are the original request's: the proxies
// pass them on. The viewer's address comes from the forwarding headers of
// trusted proxies only (identify).
func (e *Edge) describe(x *exchange) error {
	uri := firstHeader(x.r.Header, authURIHeaders)
	if uri == "" && x.s.authPrefix != "" {
		if rest, ok := strings.CutPrefix(x.r.URL.EscapedPath(), x.s.authPrefix); ok && strings.HasPrefix(rest, "/") {
			x.target, x.query = rest, x.r.URL.RawQuery
		}
	} else if uri != "" && uri[0] == '/' {
		x.target, x.query, _ = strings.Cut(uri, "?")
		if i := strings.IndexByte(x.query, '#'); i >= 0 {
			x.query = x.query[:i]
		}
	}
	if x.target == "" {
		return &reject{status: http.StatusBadRequest, reason: "auth_no_uri", verdict: accesslog.VerdictRejected}
	}
	if m := firstHeader(x.r.Header, authMethodHeaders); m != "" {
		x.method = m
	}
	return nil
}

// firstHeader is the first value of the first of names (canonical) the
// header has.
func firstHeader(h http.Header, names []string) string {
	for _, n := range names {
		if v := h[n]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}

// checkAuthMethod is checkMethod for auth mode: the original request's
// method must be GET or HEAD (a preflight is the proxy's to answer).
func (e *Edge) checkAuthMethod(x *exchange) error {
	switch x.method {
	case http.MethodGet, http.MethodHead:
		return nil
	}
	return &reject{status: http.StatusMethodNotAllowed, reason: string(token.ReasonMethodNotAllowed), verdict: accesslog.VerdictRejected}
}

// Shared values of the auth answers' headers (never changed).
var (
	noStore = []string{"no-store"}
	zero    = []string{"0"}
)

// answer is auth mode's last step: 200 with what the edge established.
// The four values share one allocation.
func (e *Edge) answer(x *exchange) error {
	h := x.w.Header()
	v := make([]string, 4)
	v[0], v[1], v[2], v[3] = x.originPath, x.ev.Verdict, x.sessionID, x.ev.KeyID
	h["Cache-Control"] = noStore
	h["Content-Length"] = zero
	h[HeaderOriginPath] = v[0:1:1]
	h[HeaderVerdict] = v[1:2:2]
	if x.sessionID != "" && x.sessionProven {
		h[HeaderSession] = v[2:3:3]
	}
	if x.ev.KeyID != "" {
		h[HeaderKeyID] = v[3:4:4]
	}
	x.w.WriteHeader(http.StatusOK)
	return nil
}
