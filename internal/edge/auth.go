package edge

import (
	"net/http"
	"net/url"
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
// looked for.
var (
	authURIHeaders    = []string{"X-Original-URI", "X-Forwarded-Uri"}
	authMethodHeaders = []string{"X-Original-Method", "X-Forwarded-Method"}
	authHostHeaders   = []string{"X-Forwarded-Host"}
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

// describe replaces the auth request with the original request its
// headers describe: the URI (required: a header, or the auth request's
// own URI after Config.AuthPathPrefix), the method (default: the auth
// request's own) and the host. The other headers (User-Agent, Referer,
// Origin, forwarding and geo headers) are the original request's: the
// proxies pass them on. The viewer's address comes from the forwarding
// headers of trusted proxies only (identify).
func (e *Edge) describe(x *exchange) error {
	uri := firstHeader(x.r.Header, authURIHeaders)
	if uri == "" && e.authPrefix != "" {
		if rest, ok := strings.CutPrefix(x.r.URL.EscapedPath(), e.authPrefix); ok && strings.HasPrefix(rest, "/") {
			uri = rest
			if q := x.r.URL.RawQuery; q != "" {
				uri += "?" + q
			}
		}
	}
	if uri == "" || uri[0] != '/' {
		return &reject{status: http.StatusBadRequest, reason: "auth_no_uri", verdict: accesslog.VerdictRejected}
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return e.refuse(token.ReasonBadPath, accesslog.VerdictRejected)
	}
	r := new(http.Request)
	*r = *x.r
	r.URL, r.RequestURI = u, uri
	if m := firstHeader(x.r.Header, authMethodHeaders); m != "" {
		r.Method = m
	}
	if h := firstHeader(x.r.Header, authHostHeaders); h != "" {
		r.Host = h
	}
	x.r = r
	return nil
}

// firstHeader is the value of the first of names the header has.
func firstHeader(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// checkAuthMethod is checkMethod for auth mode: the original request's
// method must be GET or HEAD (a preflight is the proxy's to answer).
func (e *Edge) checkAuthMethod(x *exchange) error {
	switch x.r.Method {
	case http.MethodGet, http.MethodHead:
		return nil
	}
	return &reject{status: http.StatusMethodNotAllowed, reason: string(token.ReasonMethodNotAllowed), verdict: accesslog.VerdictRejected}
}

// answer is auth mode's last step: 200 with what the edge established.
func (e *Edge) answer(x *exchange) error {
	h := x.w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set(HeaderOriginPath, x.originPath)
	if x.sessionID != "" && x.sessionProven {
		h.Set(HeaderSession, x.sessionID)
	}
	if x.ev.KeyID != "" {
		h.Set(HeaderKeyID, x.ev.KeyID)
	}
	h.Set(HeaderVerdict, x.ev.Verdict)
	h.Set("Content-Length", "0")
	x.w.WriteHeader(http.StatusOK)
	return nil
}
