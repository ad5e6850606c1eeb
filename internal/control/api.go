package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/control/apikey"
	"github.com/smd-media/smd/internal/control/ratelimit"
	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/internal/reqsign"
	"github.com/smd-media/smd/internal/viewer"
)

// Deps are what the API works on.
type Deps struct {
	// Assets is the catalog; required.
	Assets Assets
	// Sessions holds revocations; required.
	Sessions Sessions
	// Keys is the signing key ring; required.
	Keys Keys
	// Allowlist holds the sessions the detector leaves alone
	// (/v1/sessions/{id}/allow, /v1/sessions/allowed), and the hold-off
	// written when an automatic revocation is lifted; nil answers 503
	// there, and lifts automatic revocations without a hold-off.
	Allowlist Allowlist
	// Detector answers GET /v1/sessions/{id}/detector; nil answers 503
	// there.
	Detector Detector
	// RevokedIndex lists revoked sessions page by page and by prefix fast
	// at any size (GET /v1/sessions/revoked); nil: pages are read from
	// Sessions.List, and ?prefix= answers 503.
	RevokedIndex RevokedIndex
	// Timelines answers GET /v1/sessions/{id}/timeline; nil answers 503
	// there.
	Timelines Timelines
	// Edges is the smd_edges bucket (natsstore.Store.Edges) read by
	// GET /v1/edges; nil answers 503 there.
	Edges jetstream.KeyValue
	// Locator finds a client's location from its address when the asset
	// binds geo and no trusted geo header says it; optional.
	Locator geo.Locator
	// Metrics registers the API's metrics; nil: not registered.
	Metrics prometheus.Registerer
	// Log receives errors (5xx causes) and warnings; nil: discarded.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// API is the control plane's HTTP API. It implements http.Handler.
type API struct {
	cfg      Config
	deps     Deps
	keys     *apikey.Set
	viewers  viewer.Identifier
	limiter  *ratelimit.Limiter
	verifier *reqsign.Verifier
	metrics  *metrics
	log      *slog.Logger
	now      func() time.Time
	handler  http.Handler
}

// access is who may call a route.
type access int

const (
	public access = iota
	scopeRead
	scopeAdmin
	tokenAccess // issuer, or anyone when the token endpoint is public
	anyKey      // any valid API key, whatever its scopes
)

// route is one endpoint.
type route struct {
	method, path string
	access       access
	handle       func(w http.ResponseWriter, r *http.Request, c *call) error
}

// call is what the handlers know about the caller.
type call struct {
	// key is the authenticated API key, nil for a public call.
	key *apikey.Key
}

// by names the caller in revocations and logs.
func (c *call) by() string {
	if c.key == nil {
		return ""
	}
	return "apikey:" + c.key.ID
}

// New builds the API. It reads Config.APIKeysFile once.
func New(cfg Config, deps Deps) (*API, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Assets == nil || deps.Sessions == nil || deps.Keys == nil {
		return nil, errors.New("control: Deps.Assets, Deps.Sessions and Deps.Keys are required")
	}
	keys, err := apikey.Load(cfg.APIKeysFile)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	trusted, _ := viewer.ParseTrusted(cfg.TrustedProxies) // checked by validate
	a := &API{
		cfg:     cfg,
		deps:    deps,
		keys:    keys,
		viewers: viewer.Identifier{Trusted: trusted, GeoHeaders: cfg.GeoHeaders, Locator: deps.Locator, IPHeader: cfg.ClientIPHeader},
		log:     deps.Log,
		now:     deps.Now,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.PublicTokenEndpoint {
		a.limiter = ratelimit.New(cfg.TokenRate, cfg.TokenBurst, cfg.RateLimitClients)
	}
	if cfg.RequireSignedRequests {
		if a.verifier, err = reqsign.NewVerifier(cfg.SignatureKeys, cfg.SignatureMaxSkew, cfg.MaxBodyBytes); err != nil {
			return nil, fmt.Errorf("control: SignatureKeys: %w", err)
		}
		a.verifier.Now = a.now
	}
	if a.metrics, err = newMetrics(deps.Metrics); err != nil {
		return nil, err
	}
	a.handler = a.build()
	return a, nil
}

// routes lists every endpoint, in one place.
func (a *API) routes() []route {
	return []route{
		{"GET", "/v1/openapi.json", public, a.openAPI},
		{"GET", "/v1/whoami", anyKey, a.whoami},
		{"GET", "/v1/token", tokenAccess, a.issueToken},

		{"GET", "/v1/assets", scopeRead, a.listAssets},
		{"POST", "/v1/assets", scopeAdmin, a.createAsset},
		{"POST", "/v1/assets/import", scopeAdmin, a.importAssets},
		{"GET", "/v1/assets/{id}", scopeRead, a.getAsset},
		{"PUT", "/v1/assets/{id}", scopeAdmin, a.updateAsset},
		{"DELETE", "/v1/assets/{id}", scopeAdmin, a.deleteAsset},

		{"GET", "/v1/sessions/revoked", scopeRead, a.listRevoked},
		{"GET", "/v1/sessions/top", scopeRead, a.topSessions},
		{"GET", "/v1/sessions/{id}/revoke", scopeRead, a.getRevocation},
		{"POST", "/v1/sessions/{id}/revoke", scopeAdmin, a.revoke},
		{"DELETE", "/v1/sessions/{id}/revoke", scopeAdmin, a.unrevoke},
		{"GET", "/v1/sessions/allowed", scopeRead, a.listAllowed},
		{"GET", "/v1/sessions/{id}/allow", scopeRead, a.getAllowance},
		{"PUT", "/v1/sessions/{id}/allow", scopeAdmin, a.allow},
		{"DELETE", "/v1/sessions/{id}/allow", scopeAdmin, a.disallow},
		{"GET", "/v1/sessions/{id}/detector", scopeRead, a.sessionDetector},
		{"GET", "/v1/sessions/{id}/timeline", scopeRead, a.sessionTimeline},

		{"GET", "/v1/keys", scopeRead, a.listKeys},
		{"POST", "/v1/keys/rotate", scopeAdmin, a.rotateKeys},
		{"POST", "/v1/keys/import", scopeAdmin, a.importKeys},

		{"GET", "/v1/edges", scopeRead, a.listEdges},
	}
}

// build assembles the handler: the layers, outermost first, are
// recover, metrics, request signature (when required), body limit, then
// the router, whose routes check the API key.
func (a *API) build() http.Handler {
	mux := http.NewServeMux()
	rts := a.routes()
	for _, rt := range rts {
		mux.Handle(rt.method+" "+rt.path, a.endpoint(rt))
	}
	// Everything else: 405 with Allow for a known path, else 404; JSON.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, rt := range rts {
			if pathMatches(rt.path, r.URL.Path) {
				allow = append(allow, rt.method)
				if rt.method == "GET" {
					allow = append(allow, "HEAD")
				}
			}
		}
		if len(allow) == 0 {
			writeError(w, &Error{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such endpoint; see /v1/openapi.json"})
			return
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: codeMethod,
			Message: fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, strings.Join(allow, ", "))})
	})
	var h http.Handler = mux
	h = canonicalPath(h)
	h = a.limitBody(h)
	if a.verifier != nil {
		h = a.verifySignature(h)
	}
	h = a.metrics.wrap(h)
	h = a.recover(h)
	return h
}

// canonicalPath answers 404 to a path with dot segments or empty ones
// (/v1/../keys, /v1/./keys, /v1//keys, escaped or not) instead of
// net/http's redirect to the cleaned path: the API names its endpoints
// one way only.
func canonicalPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.Contains(p, "//") || strings.Contains(p+"/", "/./") || strings.Contains(p+"/", "/../") {
			writeError(w, &Error{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such endpoint (the path has dot or empty segments); see /v1/openapi.json"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pathMatches reports whether path fits pattern, whose {name} segments
// match any one non-empty segment.
func pathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" {
				return false
			}
		} else if p != xs[i] {
			return false
		}
	}
	return true
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// endpoint wraps a route's handler: authentication, then the handler,
// whose error is written (and logged when it is the server's fault).
func (a *API) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		c, err := a.authorize(w, r, rt.access)
		if err == nil && r.ContentLength > a.cfg.MaxBodyBytes {
			// Known from the headers: refused before a byte of it is read.
			err = tooLarge(a.cfg.MaxBodyBytes)
		}
		if err == nil {
			err = rt.handle(w, r, c)
		}
		if err != nil {
			e := asError(err)
			if e.Status >= 500 {
				a.log.Error("control: request failed", "method", r.Method, "route", rt.path, "status", e.Status, "code", e.Code, "err", e.Err)
			}
			writeError(w, e)
		}
	})
}

func (a *API) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("control: panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, internal(fmt.Errorf("panic: %v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds request bodies to MaxBodyBytes as they are read. A
// Content-Length over it is answered 413 by endpoint, after the request
// is authenticated: a client without a key learns that first.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge(n int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: codeBodyTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", n)}
}

// verifySignature refuses requests without a valid edge signature.
func (a *API) verifySignature(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.verifier.Verify(r); err != nil {
			var e *reqsign.Error
			if !errors.As(err, &e) {
				e = &reqsign.Error{Status: http.StatusUnauthorized, Reason: reqsign.ReasonMismatch, Message: "the signature does not match the request"}
			}
			a.metrics.signatureRejected.WithLabelValues(e.Reason).Inc()
			writeError(w, &Error{Status: e.Status, Code: e.Reason, Message: e.Message})
			return
		}
		next.ServeHTTP(w, r)
	})
}
