package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/strictjson"
	"github.com/smd-media/smd/internal/viewer"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// Asset is one of the demo's assets as the demo page offers it.
type Asset struct {
	// ID is the asset's id in the catalog.
	ID string `json:"id"`
	// Label names it on the page ("HLS, video on demand").
	Label string `json:"label"`
	// Protocol is "hls" or "dash": the player the page plays it with.
	Protocol string `json:"protocol"`
	// Live says whether it is a live stream.
	Live bool `json:"live"`
	// Dir is the path prefix its tokens grant ("/vod/demo/"): the demo
	// page acts only on tokens that grant nothing else.
	Dir string `json:"dir"`
}

// Config configures the site.
type Config struct {
	// Assets are the demo page's assets, the only ones its binding
	// toggles may change.
	Assets []Asset
	// API is a client of the control plane's API with an admin key, for
	// what the demo page may do without a login: change the binding of
	// its own assets, revoke a session whose token it shows. Nil turns
	// the demo page's backend off (503).
	API *client.Client
	// Keys and Viewers are the edge's verification keys and viewer
	// identification: the demo page's backend acts on a session only when
	// the request proves it as the edge would (the token plays for this
	// browser and its signature covers the session id). Nil Keys: every
	// such request is refused.
	Keys    token.KeyRing
	Viewers viewer.Identifier
	// APIHandler is the API as the edge mounts it at /v1/ (the API
	// itself, or the signing proxy to it): the dashboard checks logins
	// and forwards its operators' calls to it, in the process. Nil turns
	// the dashboard off (503).
	APIHandler http.Handler
	// Edge is the edge's base URL, for the share demo's simulated
	// viewers; the edge must trust this process's address for
	// X-Forwarded-For and CloudFront-Viewer-Country. Empty turns sharing
	// off.
	Edge string
	// PublicOrigins are the scheme://host[:port] origins viewers reach the
	// site by, allowed to connect from its pages (Content-Security-Policy)
	// and to send its state changes (Origin check).
	PublicOrigins []string
	// Metrics is read for the dashboard's charts (the edge's registry).
	Metrics prometheus.Gatherer
	// Simulate runs the piracy simulator against the stack for the
	// dashboard's button; nil hides the button.
	Simulate Simulator
	// SessionTTL is how long a dashboard login lasts (default 12h).
	SessionTTL time.Duration
	// Log receives the site's errors.
	Log *slog.Logger
}

// Site is the website's handler.
type Site struct {
	cfg    Config
	files  map[string]*staticFile
	log    *slog.Logger
	csp    string
	assets map[string]Asset

	verifier *smde.Verifier
	shares   *shares
	logins   *logins
	charts   *charts
	simState *simState
	forward  http.Handler

	closeOnce sync.Once
	done      chan struct{}
}

// New builds the site; Close stops its background work (charts, shares,
// simulations).
func New(cfg Config) (*Site, error) {
	files, err := loadStatic()
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	for _, o := range cfg.PublicOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("site: public origin %q: want scheme://host[:port]", o)
		}
	}
	s := &Site{cfg: cfg, files: files, log: cfg.Log, assets: map[string]Asset{}, done: make(chan struct{}),
		verifier: smde.NewVerifier(smde.Options{CacheEntries: -1})}
	for _, a := range cfg.Assets {
		s.assets[a.ID] = a
	}
	connect := "'self'"
	for _, o := range cfg.PublicOrigins {
		connect += " " + o
	}
	// hls.js and dash.js play through Media Source Extensions (blob:
	// media URLs); hls.js runs its demuxer in a worker made from a blob.
	s.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"media-src 'self' blob:; worker-src 'self' blob:; connect-src " + connect + "; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	s.shares = newShares(cfg.Edge, cfg.Log)
	s.logins = newLogins(cfg.SessionTTL)
	s.charts = newCharts(cfg.Metrics)
	s.simState = &simState{}
	if cfg.APIHandler != nil {
		s.forward = newForwarder(cfg.APIHandler)
	}
	go s.charts.run(s.done)
	return s, nil
}

// Close stops the site's background work.
func (s *Site) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.shares.stopAll()
		s.simState.stop()
	})
}

// ServeHTTP routes the site's requests.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/demo/api/"):
		s.demoAPI(w, r)
	case strings.HasPrefix(p, "/dashboard/api/"):
		s.dashboardAPI(w, r)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "the site's pages answer GET and HEAD")
	case p == "/":
		serveFile(w, r, s.files["/static/index.html"])
	case p == "/dashboard" || p == "/dashboard/":
		serveFile(w, r, s.files["/static/dashboard.html"])
	case strings.HasPrefix(p, "/static/") && s.files[p] != nil:
		serveFile(w, r, s.files[p])
	case strings.HasPrefix(p, "/dashboard/static/") && s.files[strings.TrimPrefix(p, "/dashboard")] != nil:
		// The dashboard's files under its own prefix, for edges that
		// mount only /dashboard/ (media elsewhere).
		serveFile(w, r, s.files[strings.TrimPrefix(p, "/dashboard")])
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such page; the demo is at /, the dashboard at /dashboard")
	}
}

// errorBody is the JSON of an error answer, as the API's.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	_ = e.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

// maxBody bounds the request bodies of the site's own endpoints.
const maxBody = 16 << 10

// readJSON reads a small JSON body strictly into v: it must be
// application/json (which a cross-site form cannot send without a
// preflight), at most maxBody bytes, with exactly v's members.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && !strings.HasPrefix(ct, "application/json;") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
		return false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", maxBody))
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", "the body could not be read")
		}
		return false
	}
	if err := strictjson.Decode(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", err.Error())
		return false
	}
	return true
}

// sameOrigin refuses a state change that a browser says comes from
// another site: Sec-Fetch-Site, else Origin, must name this site (a
// non-browser client sends neither and is let through: it cannot ride a
// viewer's cookies).
func (s *Site) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		writeError(w, http.StatusForbidden, "cross_site", "state changes are accepted only from this site's own pages")
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && !s.ownOrigin(r, o) {
		writeError(w, http.StatusForbidden, "cross_site", "state changes are accepted only from this site's own pages")
		return false
	}
	return true
}

// ownOrigin reports whether o is the origin the request was sent to, or
// one of the configured public origins.
func (s *Site) ownOrigin(r *http.Request, o string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if o == scheme+"://"+r.Host {
		return true
	}
	for _, p := range s.cfg.PublicOrigins {
		if o == p {
			return true
		}
	}
	return false
}
