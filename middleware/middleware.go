// Package middleware puts smd's edge checks in front of any http.Handler:
// a Go media server (or a file server) gets the token check, the
// revocation check, the viewer binding (IP, User-Agent, Referer, session,
// geo), the reason codes and the access events of smd's edge, in-process,
// without a proxy in front of it.
//
// A request whose path starts with a token segment
// (/<token>/vod/title/seg1.ts) is checked, and on success handed to the
// wrapped handler with the token removed (/vod/title/seg1.ts); SessionFrom
// tells the handler which session it serves. A refused request gets the
// status of its reason (401, 403, ...) and never reaches the handler.
//
// The package holds the adapter only; the checks are smd's edge pipeline
// (internal/edge). It must not import NATS, the control plane or smd's
// configuration files: keys and revocations come from the caller
// (a token.Keys, or any token.KeyRing that rotates; any set with a
// Revoked method).
package middleware

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/edge"
	"github.com/smd-media/smd/token"
)

// Route modes, as in smd's edge configuration.
const (
	// Enforce refuses requests without a valid token (the default).
	Enforce = edge.ModeEnforce
	// Log checks and logs, but serves: to roll checks out without
	// breaking viewers.
	Log = edge.ModeLog
	// Off checks nothing.
	Off = edge.ModeOff
)

// Route sets what is checked under a path prefix; the longest prefix wins.
type Route struct {
	// Prefix is a normalized path starting with "/", e.g. "/vod/".
	Prefix string
	// Mode is Enforce (when empty), Log or Off.
	Mode string
}

// Revocations answers whether a session is revoked. It is asked on every
// request with a session: it must be fast and must not block.
type Revocations interface {
	Revoked(sessionID string) bool
}

// RevokedFunc adapts a function to Revocations.
type RevokedFunc func(sessionID string) bool

// Revoked calls f.
func (f RevokedFunc) Revoked(sessionID string) bool { return f(sessionID) }

// Options configure the middleware. Keys is required.
type Options struct {
	// Keys verify the tokens: token.NewKeys({"k1": "<secret>"}) or a ring
	// that rotates (any token.KeyRing, read on every request).
	Keys token.KeyRing
	// Revoked refuses revoked sessions; optional.
	Revoked Revocations
	// Routes are the prefixes checked; default: everything, enforced.
	// Requests under no route get 404 without reaching the handler.
	Routes []Route
	// Format checks tokens; default: SMDE path tokens (token/smde).
	Format token.Format
	// TrustedProxies are the addresses or CIDRs of proxies in front whose
	// X-Forwarded-For, Forwarded and geo headers are believed.
	TrustedProxies []string
	// ClientIPHeader names a CDN's viewer address header (CF-Connecting-IP,
	// CloudFront-Viewer-Address, True-Client-IP, X-Real-IP), believed from
	// trusted proxies; empty: X-Forwarded-For.
	ClientIPHeader string
	// GeoHeaders believes the CDN geo headers of trusted proxies
	// (CloudFront-Viewer-Country, CF-IPCountry, X-Akamai-Edgescape).
	GeoHeaders bool
	// Status overrides the status answered per reason, e.g.
	// {"expired": 410, "revoked": 410}.
	Status map[string]int
	// ClockSkew is how far a token's exp and nbf may be overstepped.
	ClockSkew time.Duration
	// AllowedOrigins answer CORS for web players on other sites ("*" for
	// any); empty: no CORS headers.
	AllowedOrigins []string
	// AccessLog receives one JSON line per request, smd's access log
	// format (docs/access.md), written in the background; optional.
	AccessLog io.Writer
	// Log receives operational messages; none when nil.
	Log *slog.Logger
	// Registerer receives the smd_edge_* metrics; none when nil.
	Registerer prometheus.Registerer
	// ID names this server in access events.
	ID string
}

// Handler is the middleware: an http.Handler in front of the next one.
type Handler struct {
	edge   *edge.Edge
	access *accesslog.Logger
}

// New wraps next with the checks of smd's edge.
func New(next http.Handler, o Options) (*Handler, error) {
	if next == nil {
		return nil, errors.New("middleware: no next handler")
	}
	if o.Keys == nil {
		return nil, errors.New("middleware: no keys (Options.Keys)")
	}
	routes := []edge.Route{{Prefix: "/"}}
	if len(o.Routes) > 0 {
		routes = make([]edge.Route, len(o.Routes))
		for i, r := range o.Routes {
			routes[i] = edge.Route{Prefix: r.Prefix, Mode: r.Mode}
		}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{}
	d := edge.Deps{Format: o.Format, Keys: o.Keys, Next: next, Log: log, Registerer: o.Registerer}
	if o.Revoked != nil {
		d.Revoked = o.Revoked
	}
	if o.AccessLog != nil {
		h.access = accesslog.New(o.AccessLog, 4096, log)
		d.Access = h.access
	}
	var err error
	h.edge, err = edge.New(edge.Config{
		ID:             o.ID,
		Routes:         routes,
		TrustedProxies: o.TrustedProxies,
		ClientIPHeader: o.ClientIPHeader,
		GeoHeaders:     o.GeoHeaders,
		CORS:           edge.CORS{AllowedOrigins: o.AllowedOrigins, MaxAge: time.Hour},
		Status:         o.Status,
		ClockSkew:      o.ClockSkew,
	}, d)
	if err != nil {
		if h.access != nil {
			h.access.Close()
		}
		return nil, err
	}
	return h, nil
}

// ServeHTTP checks the request and hands it on when it passes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.edge.ServeHTTP(w, r) }

// Close writes out the access events still buffered. The handler must not
// be used after it.
func (h *Handler) Close() error {
	if h.access == nil {
		return nil
	}
	return h.access.Close()
}

// Session is what the middleware established about a request it passed.
type Session struct {
	// ID is the token's session id ("" when the token has none).
	ID string
	// Proven says whether the token's signature covers ID: an unproven id
	// (written in front of a token on an exc path) identifies no one.
	Proven bool
	// KeyID names the key that verified the token.
	KeyID string
	// OriginPath is the request's path without the token, normalized.
	OriginPath string
	// Verdict is "allow", "log_deny" (a Log route passed a bad token) or
	// "unchecked" (an Off route).
	Verdict string
}

// SessionFrom returns what the middleware established about r, when r
// came through it.
func SessionFrom(r *http.Request) (Session, bool) {
	p, ok := edge.PassedFrom(r.Context())
	if !ok {
		return Session{}, false
	}
	return Session{ID: p.SessionID, Proven: p.SessionProven, KeyID: p.KeyID, OriginPath: p.OriginPath, Verdict: p.Verdict}, true
}
