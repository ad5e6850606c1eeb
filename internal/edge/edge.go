// Package edge is smd's request pipeline: an http.Handler that checks the
// token in every media request, refuses revoked sessions, and serves the
// object from the cache or the origin (or hands the request to the next
// handler, or only answers the verdict: auth mode), recording one access
// event per request.
//
// It holds the pipeline only: one file per step (method.go, identify.go,
// resolve.go, verify.go, revoked.go, serve.go, finish.go), its own small
// Config, and interfaces for what feeds it (a token format, a key ring, a
// revocation set, a fetcher, an access sink). It must not import the
// process around it: no NATS client, no control plane, no detector, no
// configuration files (internal/config). internal/node assembles edges
// from configuration; the middleware package and the Caddy module embed
// the pipeline in other servers. TestDependencies pins the boundary.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/internal/mediatime"
	"github.com/smd-media/smd/internal/viewer"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// Fetcher serves an object from the cache or its origin. It must not keep
// r or w after Serve returns: both live in a recycled exchange.
type Fetcher interface {
	Serve(ctx context.Context, w http.ResponseWriter, r *cache.Request) cache.Result
}

// AccessLogger takes access events without blocking. It must copy what
// it keeps of the event, which lives in a recycled exchange.
type AccessLogger interface {
	Log(*accesslog.Event)
}

// Deps are what an Edge works with.
type Deps struct {
	// Format checks tokens; smde.NewVerifier when nil.
	Format token.Format
	// Keys verify tokens.
	Keys token.KeyRing
	// Revoked answers whether a session is revoked; none when nil.
	Revoked Revocations
	// Geo locates viewers (unless Config.GeoHeaders); optional.
	Geo geo.Locator
	// ASN finds viewers' network operators for the access events (the
	// config's geo.asn_mmdb_file); optional.
	ASN geo.ASNLocator
	// Fetcher serves objects from the cache or the origin. Either it or
	// Next is needed.
	Fetcher Fetcher
	// Next, when set, serves the requests that pass instead of Fetcher,
	// with the token removed from the path (the origin path): the edge as
	// middleware in front of a Go media server.
	Next http.Handler
	// Durations gives segments their media duration in access events
	// (learned from the manifests served, see mediatime); none when nil.
	Durations *mediatime.Durations
	// Access receives one event per request; none when nil.
	Access AccessLogger
	// Log receives operational messages.
	Log *slog.Logger
	// Registerer receives the metrics; none when nil.
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Revocations answers whether a session is revoked. It is called on every
// request with a session, so it must be fast and must not block (a set in
// memory kept up to date in the background). A set that can also be
// walked (Version and Each, as internal/revocation's) lets the edge catch
// a revoked token on exc paths whatever id is written in front of it
// (revoked.go).
type Revocations interface {
	Revoked(sessionID string) bool
}

// Edge is the request pipeline. It is an http.Handler.
type Edge struct {
	durations *mediatime.Durations
	keys      token.KeyRing
	revoked   Revocations
	fetcher   Fetcher
	next      http.Handler
	auth      bool // auth mode: answer the verdict only (auth.go)
	access    AccessLogger
	log       *slog.Logger
	metrics   *metrics
	now       func() time.Time
	reqID     atomic.Uint64
	scans     proofScans // revokedByProof
	idBase    string
	// rejected counts refused requests (reqID counts all of them).
	rejected atomic.Uint64
	// deps are what New was given: Configure builds settings from them.
	deps Deps
	// cur is what a request is judged by; Configure replaces it whole,
	// and each request reads it once (exchange.s).
	cur atomic.Pointer[settings]

	// steps is the pipeline, in order; see New.
	steps []step
}

// settings are the part of an Edge that Configure can change while it
// serves: a request sees either the old settings or the new, never a mix.
type settings struct {
	id         string
	format     token.Format
	skew       time.Duration // the default format's clock skew
	viewers    viewer.Identifier
	routes     routes
	cors       cors
	status     map[string]int
	authPrefix string // Config.AuthPathPrefix
}

// step is one stage of the pipeline. It returns a *reject to answer the
// viewer with an error, errHandled when it wrote the response itself, or
// nil to go on.
type step func(x *exchange) error

// errHandled stops the pipeline after a step answered (CORS preflight).
var errHandled = errors.New("handled")

// reject is a refused request: the status goes to the viewer with a fixed
// text; the reason goes only to the access log and metrics.
type reject struct {
	status  int
	reason  string
	verdict string
}

func (r *reject) Error() string { return r.reason }

// exchange carries one request through the pipeline.
type exchange struct {
	s     *settings // the edge's, when the request began
	w     *recorder // &rec
	rec   recorder
	r     *http.Request
	start time.Time
	ev    accesslog.Event
	ip    netip.Addr
	geo   token.Geo
	route *route
	// hasToken is set when the first path segment looks like a token.
	hasToken   bool
	originPath string
	// method, target and query are the request's method, escaped path (as
	// the token binds it) and raw query: the viewer's request, or in auth
	// mode the original request the proxy describes.
	method, target, query string
	// tokenReq and cacheReq are the requests of the token check and the
	// cache, kept here to save two allocations per request.
	tokenReq token.Request
	cacheReq cache.Request
	// sessionID is the request's session id; sessionProven says whether
	// the token's signature covers it (token.Grant.SessionProven).
	sessionID     string
	sessionProven bool
	excluded      bool // the path is under the token's exc (token.Grant.Excluded)
	truncated     bool
}

// New builds an Edge from its configuration and dependencies.
func New(cfg Config, d Deps) (*Edge, error) {
	if d.Fetcher == nil && d.Next == nil && !cfg.Auth {
		return nil, errors.New("edge: no fetcher and no next handler")
	}
	e := &Edge{
		durations: d.Durations,
		keys:      d.Keys,
		revoked:   d.Revoked,
		fetcher:   d.Fetcher,
		next:      d.Next,
		auth:      cfg.Auth,
		access:    d.Access,
		log:       d.Log,
		now:       d.Now,
		deps:      d,
		idBase:    strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-",
	}
	if err := e.Configure(cfg); err != nil {
		return nil, err
	}
	if e.keys == nil {
		e.keys = token.Keys{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	reg := d.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	e.metrics = newMetrics(reg)

	// The pipeline, one line per stage.
	e.steps = []step{
		e.checkMethod,  // GET and HEAD; OPTIONS preflight answered here
		e.identify,     // viewer address (socket or trusted proxy) and location
		e.resolve,      // origin path, normalized, and its route
		e.checkToken,   // the token, per the route's mode
		e.checkRevoked, // the session, against the revoked set
		e.serve,        // cache, then origin (or the next handler)
	}
	if cfg.Auth {
		e.steps = []step{
			e.describe,        // the original request, from the proxy's headers
			e.checkAuthMethod, // GET and HEAD
			e.identify,
			e.resolve,
			e.checkToken,
			e.checkRevoked,
			e.answer, // 200 and what was established, in headers
		}
	}
	return e, nil
}

// Configure replaces the edge's settings while it serves (a configuration
// reload): its id, routes, trusted proxies and viewer headers, CORS,
// status overrides, clock skew and auth path prefix. Requests under way
// finish with the settings they started with. The mode (serve or auth)
// cannot change. A configuration that does not compile changes nothing.
func (e *Edge) Configure(cfg Config) error {
	if cfg.Auth != e.auth {
		return errors.New("edge: the mode (serve or auth) cannot change while the edge runs")
	}
	rs, err := compileRoutes(cfg.Routes)
	if err != nil {
		return err
	}
	if err := checkStatus(cfg.Status); err != nil {
		return err
	}
	if err := checkAuthPrefix(cfg.AuthPathPrefix); err != nil {
		return err
	}
	trusted, err := viewer.ParseTrusted(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	d := e.deps
	ipHeader := cfg.ClientIPHeader
	if ipHeader == "" && cfg.Auth {
		// What nginx configurations commonly set; believed from trusted
		// proxies only, before X-Forwarded-For, as any client_ip_header.
		ipHeader = "X-Real-IP"
	}
	s := &settings{
		id:         cfg.ID,
		format:     d.Format,
		skew:       cfg.ClockSkew,
		viewers:    viewer.Identifier{Trusted: trusted, GeoHeaders: cfg.GeoHeaders, IPHeader: ipHeader, ASNs: d.ASN},
		routes:     rs,
		cors:       newCORS(cfg.CORS),
		status:     maps.Clone(cfg.Status),
		authPrefix: cfg.AuthPathPrefix,
	}
	if !cfg.GeoHeaders {
		s.viewers.Locator = d.Geo
	}
	if s.format == nil {
		// The default verifier, kept (with its cache of verified tokens)
		// while the clock skew stays the same.
		if old := e.cur.Load(); old != nil && old.skew == cfg.ClockSkew {
			s.format = old.format
		} else {
			s.format = smde.NewVerifier(smde.Options{ClockSkew: cfg.ClockSkew})
		}
	}
	e.cur.Store(s)
	return nil
}

// Counts returns the number of requests answered since start and how many
// of them were refused (token, revocation or method).
func (e *Edge) Counts() (requests, rejected uint64) {
	return e.reqID.Load(), e.rejected.Load()
}

// exchanges recycles the exchanges of finished requests. An exchange (736
// bytes: the access event, the token and cache requests) was most of the
// bytes a cached request allocated, and the garbage collections those
// bytes caused were most of the edge's scheduling delay in a runtime trace
// under load (BENCHMARKS.md). Nothing keeps an exchange past ServeHTTP: the
// token check, the cache and the access sinks use it only during the call
// (an accesslog.Sink copies what it keeps).
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// ServeHTTP runs the pipeline and records the access event.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchanges.Get().(*exchange)
	*x = exchange{r: r, s: e.cur.Load(), start: e.now(), method: r.Method}
	x.rec.ResponseWriter = w
	x.w = &x.rec
	e.run(x)
	truncated := x.truncated
	*x = exchange{} // no references kept while pooled
	exchanges.Put(x)
	if truncated {
		// The origin failed mid-body: abort the connection so that the
		// viewer (or a CDN in front) cannot take the short body for a
		// whole one.
		panic(http.ErrAbortHandler)
	}
}

func (e *Edge) run(x *exchange) {
	defer e.finish(x)
	for _, s := range e.steps {
		if err := s(x); err != nil {
			e.fail(x, err)
			return
		}
	}
}

// fail answers a refused request.
func (e *Edge) fail(x *exchange, err error) {
	var rj *reject
	if !errors.As(err, &rj) {
		if err != errHandled {
			e.log.Error("request failed", "err", err)
			rj = &reject{status: http.StatusInternalServerError, reason: "internal", verdict: accesslog.VerdictRejected}
		} else {
			return
		}
	}
	x.ev.Reason, x.ev.Verdict = rj.reason, rj.verdict
	h := x.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.auth {
		// No body, and no reason: several proxies (Caddy, Traefik, Envoy)
		// pass the auth answer of a refusal to the viewer as it is. The
		// reason is in the access event, as in serve mode.
		h.Set("Content-Length", "0")
	}
	if rj.status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, HEAD, OPTIONS")
	}
	x.w.WriteHeader(rj.status)
	if x.method != http.MethodHead && !e.auth {
		fmt.Fprintln(x.w, http.StatusText(rj.status))
	}
}

// statusFor is the configured status of a reason, else its default.
func (s *settings) statusFor(reason string, def int) int {
	if c, ok := s.status[reason]; ok {
		return c
	}
	return def
}

func (s *settings) refuse(reason token.Reason, verdict string) *reject {
	return &reject{status: s.statusFor(string(reason), reason.Status()), reason: string(reason), verdict: verdict}
}
