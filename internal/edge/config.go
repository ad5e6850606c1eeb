package edge

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/smd-media/smd/token"
)

// Route modes: what a route does with tokens.
const (
	// ModeEnforce refuses requests without a valid token (the default).
	ModeEnforce = "enforce"
	// ModeLog checks, logs and counts, but serves (to roll checks out).
	ModeLog = "log"
	// ModeOff checks nothing.
	ModeOff = "off"
)

// Config is what the pipeline needs to know: its routes and how it
// answers. The process around it (listeners, files, NATS) has its own
// configuration; internal/node turns that into this.
type Config struct {
	// ID names this edge in access events.
	ID string
	// Routes map origin path prefixes to origins; the longest prefix wins.
	Routes []Route
	// TrustedProxies are the CIDRs or addresses whose forwarding and geo
	// headers are believed.
	TrustedProxies []string
	// ClientIPHeader names the header in which a CDN among the trusted
	// proxies gives the viewer's address; empty: X-Forwarded-For (in auth
	// mode: X-Real-IP, then X-Forwarded-For).
	ClientIPHeader string
	// GeoHeaders believes the CDN geo headers of trusted proxies; when
	// false, Deps.Geo (if any) locates viewers.
	GeoHeaders bool
	// CORS lets players on other sites fetch media.
	CORS CORS
	// Status overrides the HTTP status answered per refusal reason.
	Status map[string]int
	// Auth makes the edge an auth service (auth.go): it answers only the
	// verdict for the original request a forwarding proxy describes in
	// its headers, and the proxy serves. No fetcher is needed.
	Auth bool
	// AuthPathPrefix, in auth mode, lets the proxy give the original URI
	// as the auth request's own path after this prefix (Envoy ext_authz's
	// path_prefix: /.smd-auth/<token>/vod/...), when no X-Original-URI or
	// X-Forwarded-Uri header is present. A normalized path without a
	// trailing '/'; empty: off.
	AuthPathPrefix string
	// ClockSkew is how far a token's exp and nbf may be overstepped (for
	// the default format).
	ClockSkew time.Duration
}

// Route maps an origin path prefix to an origin.
type Route struct {
	// Prefix is matched against the origin path (the path after the token).
	Prefix string
	// Origin is the base URL the origin path is appended to; it may be
	// empty where Deps.Next serves (middleware, auth mode).
	Origin string
	// Mode is ModeEnforce (when empty), ModeLog or ModeOff.
	Mode string
}

// CORS lists the web origins allowed to fetch media.
type CORS struct {
	// AllowedOrigins, or "*" for any; empty: no CORS headers.
	AllowedOrigins []string
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge time.Duration
}

// route is a compiled Route.
type route struct {
	prefix string
	origin string // base URL without a trailing '/'
	mode   string
}

// routes matches origin paths, longest prefix first.
type routes []route

func compileRoutes(cfg []Route) (routes, error) {
	out := make(routes, 0, len(cfg))
	for _, r := range cfg {
		if n, err := token.NormalizePath(r.Prefix); err != nil || n != r.Prefix {
			return nil, fmt.Errorf("route %q: the prefix must be a normalized path starting with /", r.Prefix)
		}
		u, err := url.Parse(r.Origin)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Prefix, err)
		}
		mode := r.Mode
		switch mode {
		case "":
			mode = ModeEnforce
		case ModeEnforce, ModeLog, ModeOff:
		default:
			return nil, fmt.Errorf("route %s: mode %q is not enforce, log or off", r.Prefix, r.Mode)
		}
		out = append(out, route{prefix: r.Prefix, origin: strings.TrimSuffix(u.String(), "/"), mode: mode})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].prefix) > len(out[j].prefix) })
	return out, nil
}

// match returns the route for an origin path, or nil.
func (rs routes) match(originPath string) *route {
	for i := range rs {
		if strings.HasPrefix(originPath, rs[i].prefix) {
			return &rs[i]
		}
	}
	return nil
}

// checkAuthPrefix refuses an auth path prefix that cannot match.
func checkAuthPrefix(p string) error {
	if p == "" {
		return nil
	}
	if n, err := token.NormalizePath(p); err != nil || n != p || strings.HasSuffix(p, "/") {
		return fmt.Errorf("auth path prefix %q: want a normalized path without a trailing '/', e.g. /.smd-auth", p)
	}
	return nil
}

// checkStatus refuses status overrides of reasons that do not exist and
// statuses that are not refusals.
func checkStatus(m map[string]int) error {
	for reason, code := range m {
		known := reason == "revoked"
		for _, r := range token.Reasons {
			known = known || reason == string(r)
		}
		if !known {
			return fmt.Errorf("status: %q is not a refusal reason (docs/tokens.md)", reason)
		}
		if code < 400 || code > 599 {
			return fmt.Errorf("status: %s: %d is not a 4xx or 5xx status", reason, code)
		}
	}
	return nil
}
