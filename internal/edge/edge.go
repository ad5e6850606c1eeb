// Package edge is smd's data plane: an HTTP handler that checks the token
// in every media request, refuses revoked sessions, and serves the object
// from the cache or the origin, recording one access event per request.
// It depends on small interfaces (a token format, a key ring, a revocation
// checker, a cache, an access log), never on the control plane.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/internal/mediatime"
	"github.com/smd-media/smd/internal/revocation"
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
	Revoked revocation.Checker
	// Geo locates viewers when the config's geo source is mmdb.
	Geo geo.Locator
	// ASN finds viewers' network operators for the access events (the
	// config's geo.asn_mmdb_file); optional.
	ASN geo.ASNLocator
	// Fetcher serves objects.
	Fetcher Fetcher
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

// Edge is the request pipeline. It is an http.Handler.
type Edge struct {
	id        string
	durations *mediatime.Durations
	format    token.Format
	keys      token.KeyRing
	revoked   revocation.Checker
	viewers   viewer.Identifier
	routes    routes
	cors      cors
	status    map[string]int
	fetcher   Fetcher
	access    AccessLogger
	log       *slog.Logger
	metrics   *metrics
	now       func() time.Time
	reqID     atomic.Uint64
	scans     proofScans // revokedByProof
	idBase    string
	// rejected counts refused requests (reqID counts all of them).
	rejected atomic.Uint64

	// steps is the pipeline, in order; see New.
	steps []step
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
	// target is the request's escaped path, as the token binds it.
	target string
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

// New builds an Edge from its configuration (validated) and dependencies.
func New(cfg *config.Edge, d Deps) (*Edge, error) {
	if d.Fetcher == nil {
		return nil, errors.New("edge: no fetcher")
	}
	rs, err := compileRoutes(cfg.Routes)
	if err != nil {
		return nil, err
	}
	trusted, err := viewer.ParseTrusted(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	e := &Edge{
		id:        cfg.ID,
		durations: d.Durations,
		format:    d.Format,
		keys:      d.Keys,
		revoked:   d.Revoked,
		viewers:   viewer.Identifier{Trusted: trusted, GeoHeaders: cfg.Geo.Source == "headers", IPHeader: cfg.ClientIPHeader},
		routes:    rs,
		cors:      newCORS(cfg.CORS),
		status:    cfg.Status,
		fetcher:   d.Fetcher,
		access:    d.Access,
		log:       d.Log,
		now:       d.Now,
		idBase:    strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-",
	}
	if cfg.Geo.Source == "mmdb" {
		e.viewers.Locator = d.Geo
	}
	if d.ASN != nil {
		e.viewers.ASNs = d.ASN
	}
	if e.format == nil {
		e.format = smde.NewVerifier(smde.Options{ClockSkew: cfg.ClockSkew.D()})
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
		e.serve,        // cache, then origin
	}
	return e, nil
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
	*x = exchange{r: r, start: e.now()}
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
	if rj.status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, HEAD, OPTIONS")
	}
	x.w.WriteHeader(rj.status)
	if x.r.Method != http.MethodHead {
		fmt.Fprintln(x.w, http.StatusText(rj.status))
	}
}

// statusFor is the configured status of a reason, else its default.
func (e *Edge) statusFor(reason string, def int) int {
	if s, ok := e.status[reason]; ok {
		return s
	}
	return def
}

func (e *Edge) refuse(reason token.Reason, verdict string) *reject {
	return &reject{status: e.statusFor(string(reason), reason.Status()), reason: string(reason), verdict: verdict}
}

func (e *Edge) checkMethod(x *exchange) error {
	switch x.r.Method {
	case http.MethodGet, http.MethodHead:
		e.cors.annotate(x.w.Header(), x.r)
		return nil
	case http.MethodOptions:
		if e.cors.preflight(x.w, x.r) {
			x.ev.Verdict = accesslog.VerdictUnchecked
			return errHandled
		}
	}
	return &reject{status: http.StatusMethodNotAllowed, reason: string(token.ReasonMethodNotAllowed), verdict: accesslog.VerdictRejected}
}

func (e *Edge) identify(x *exchange) error {
	x.ip, x.geo = e.viewers.Identify(x.r)
	return nil
}

// resolve finds the origin path (the path after the token segment, if the
// first segment looks like one) and its route.
func (e *Edge) resolve(x *exchange) error {
	x.target = x.r.URL.EscapedPath()
	p, hasToken, err := originPath(x.target)
	x.hasToken = hasToken
	if err != nil {
		return e.refuse(token.ReasonBadPath, accesslog.VerdictRejected)
	}
	x.originPath = p
	if x.route = e.routes.match(p); x.route == nil {
		return &reject{status: http.StatusNotFound, reason: "no_route", verdict: accesslog.VerdictRejected}
	}
	return nil
}

// Claims reports whether one of the routes claims the request's path (the
// path after a token segment, normalized). A path that does not normalize
// is claimed: the pipeline refuses it as bad_path.
func (e *Edge) Claims(r *http.Request) bool {
	p, _, err := originPath(r.URL.EscapedPath())
	return err != nil || e.routes.match(p) != nil
}

// originPath is the normalized path after the token segment of an
// escaped request path (the whole path when its first segment does not
// look like a token), and whether there was one.
func originPath(target string) (path string, hasToken bool, err error) {
	raw := target
	if seg, rest, _, err := smde.SplitTarget(target); err == nil && smde.LooksLikeToken(seg) {
		hasToken, raw = true, rest
	}
	path, err = token.NormalizePath(raw)
	return path, hasToken, err
}

func (e *Edge) checkToken(x *exchange) error {
	mode := x.route.mode
	if mode == config.ModeOff {
		x.ev.Verdict = accesslog.VerdictUnchecked
		return nil
	}
	var err error
	if !x.hasToken {
		err = token.Reject(token.ReasonMissing, "no token in the path")
	} else {
		// In the exchange, which is on the heap anyway: a local would
		// escape through the Format interface and cost an allocation.
		req := &x.tokenReq
		*req = token.Request{
			Method: x.r.Method,
			Target: x.target,
			Header: x.r.Header,
			IP:     x.ip,
			Geo:    x.geo,
			Now:    x.start,
		}
		if q := x.r.URL.RawQuery; q != "" {
			req.Target += "?" + q
		}
		t0 := time.Now()
		var g token.Grant
		g, err = e.format.Verify(req, e.keys)
		e.metrics.verify.Observe(time.Since(t0).Seconds())
		if err == nil {
			x.sessionID, x.sessionProven, x.ev.KeyID = g.SessionID, g.SessionProven, g.KeyID
			x.excluded = g.Excluded
			x.originPath = g.OriginPath
			x.ev.Verdict = accesslog.VerdictAllow
			return nil
		}
	}
	reason := token.ReasonOf(err)
	if reason == "" {
		reason = token.ReasonMalformed
	}
	if mode == config.ModeLog {
		x.ev.Verdict, x.ev.Reason = accesslog.VerdictLogDeny, string(reason)
		return nil
	}
	return e.refuse(reason, accesslog.VerdictDeny)
}

// checkRevoked refuses a revoked session. An unproven session id (an exc
// path whose binding did not match) is checked too, but it can only refuse:
// whoever wrote it chose it. What keeps a revoked viewer out of exc paths
// is the token's own session, which the verifier gives as the grant's
// (proven) session once the token has proven it, whatever id the request
// wrote (docs/tokens.md, "What a token binds on exc paths").
func (e *Edge) checkRevoked(x *exchange) error {
	if e.revoked == nil {
		return nil
	}
	revoked := x.sessionID != "" && e.revoked.Revoked(x.sessionID)
	if !revoked && x.excluded && !x.sessionProven && x.hasToken {
		revoked = e.revokedByProof(x)
	}
	if !revoked {
		return nil
	}
	if x.route.mode == config.ModeLog {
		x.ev.Verdict, x.ev.Reason = accesslog.VerdictLogDeny, "revoked"
		return nil
	}
	return &reject{status: e.statusFor("revoked", http.StatusForbidden), reason: "revoked", verdict: accesslog.VerdictRevoked}
}

func (e *Edge) serve(x *exchange) error {
	u := x.route.origin + x.originPath
	x.cacheReq = cache.Request{Key: u, URL: u, Method: x.r.Method, Header: x.r.Header}
	res := e.fetcher.Serve(x.r.Context(), x.w, &x.cacheReq)
	x.ev.CacheStatus = res.CacheStatus
	if errors.Is(res.Err, cache.ErrTruncated) {
		x.truncated = true
		x.ev.Reason = "origin_truncated"
	}
	if res.OriginDuration > 0 {
		e.metrics.origin.Observe(res.OriginDuration.Seconds())
	}
	return nil
}

// finish records the access event and metrics, and turns a panic into a
// 500 so one bad request cannot take the edge down.
func (e *Edge) finish(x *exchange) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		e.log.Error("panic serving request", "panic", fmt.Sprint(p), "path_len", len(x.r.URL.Path))
		if x.w.status == 0 {
			x.w.Header().Set("Cache-Control", "no-store")
			x.w.WriteHeader(http.StatusInternalServerError)
		}
		x.ev.Verdict, x.ev.Reason = accesslog.VerdictRejected, "internal"
	}
	d := e.now().Sub(x.start)
	n := e.reqID.Add(1)
	if x.w.status >= 400 && x.ev.Reason != "" {
		e.rejected.Add(1) // refused by the edge, not an origin error
	}
	status := x.w.status
	if status == 0 {
		status = http.StatusOK
	}
	routeName := "none"
	if x.route != nil {
		routeName = x.route.prefix
	}
	e.metrics.requests.WithLabelValues(routeName, statusText(status), x.ev.Verdict, x.ev.Reason).Inc()
	e.metrics.duration.Observe(d.Seconds())
	e.metrics.requestBytes.Add(float64(x.w.bytes))
	if e.access == nil {
		return
	}
	ev := &x.ev
	ev.Time, ev.EdgeID, ev.Duration = x.start, e.id, d
	// The request id and the address in binary form: the sinks format
	// them (the stream's encoder without allocating).
	ev.RequestPrefix, ev.RequestSeq = e.idBase, n
	ev.SessionID = x.sessionID
	ev.SessionUnproven = x.sessionID != "" && !x.sessionProven
	ev.Status, ev.BytesSent = status, x.w.bytes
	ev.Addr = x.ip
	ev.Country = x.geo.Country
	if e.viewers.KnowsASN() {
		ev.ASN = e.viewers.ASN(x.r, x.ip)
	}
	ev.UserAgent = x.r.Header.Get("User-Agent")
	ev.Referer = x.r.Header.Get("Referer")
	ev.Method = x.r.Method
	ev.Route = routeName
	ev.OriginPath = x.originPath
	if status == http.StatusOK || status == http.StatusPartialContent {
		ev.MediaMS, _ = e.durations.Lookup(x.originPath)
	}
	e.access.Log(ev)
}

// statusText is strconv.Itoa without an allocation for the usual statuses.
func statusText(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusPartialContent:
		return "206"
	case http.StatusNotModified:
		return "304"
	case http.StatusUnauthorized:
		return "401"
	case http.StatusForbidden:
		return "403"
	case http.StatusNotFound:
		return "404"
	}
	return strconv.Itoa(code)
}
