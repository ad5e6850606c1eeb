// Package smdcaddy is smd's token check as a Caddy module: the
// http.handlers.smd handler checks each request's token in-process (no
// round trip to an auth service), refuses revoked sessions, and hands the
// request on with the token removed from its path, typically to
// reverse_proxy or file_server.
//
// It lives in its own Go module so that smd's main module does not depend
// on Caddy. Build a Caddy with it:
//
//	xcaddy build --with github.com/smd-media/smd/caddy
//
// Caddyfile:
//
//	example.com {
//		smd {
//			keys_file /etc/smd/keys.json
//			revoked_file /etc/smd/revoked.txt
//			route /vod/
//			route /public/ off
//		}
//		reverse_proxy 127.0.0.1:8081
//	}
//
// The checks are smd's edge pipeline (through the public middleware
// package); keys and revoked sessions come from files that are re-read
// when they change. docs/drop-in.md has every option.
package smdcaddy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/middleware"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the http.handlers.smd module.
type Handler struct {
	// KeysFile holds the verification keys: a JSON map {kid: secret} or
	// SMDE's Secrets Manager export (smd edge's keys_file). Required.
	KeysFile string `json:"keys_file,omitempty"`
	// KeysReload is how often the key file is checked for changes
	// (default 10s).
	KeysReload caddy.Duration `json:"keys_reload,omitempty"`
	// RevokedFile lists revoked session ids, one per line; optional.
	RevokedFile string `json:"revoked_file,omitempty"`
	// RevokedReload is how often the revoked file is checked (default 1s).
	RevokedReload caddy.Duration `json:"revoked_reload,omitempty"`
	// Routes are the prefixes checked and their modes (enforce, log,
	// off); default: everything enforced. A request under no route gets
	// 404.
	Routes []Route `json:"routes,omitempty"`
	// TrustedProxies are the CIDRs or addresses of proxies in front whose
	// forwarding and geo headers are believed.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// ClientIPHeader names a CDN's viewer address header (believed from
	// trusted proxies); empty: X-Forwarded-For.
	ClientIPHeader string `json:"client_ip_header,omitempty"`
	// GeoHeaders believes the CDN geo headers of trusted proxies.
	GeoHeaders bool `json:"geo_headers,omitempty"`
	// Status overrides the HTTP status per refusal reason.
	Status map[string]int `json:"status,omitempty"`
	// ClockSkew is how far a token's exp and nbf may be overstepped.
	ClockSkew caddy.Duration `json:"clock_skew,omitempty"`
	// AllowedOrigins answer CORS for web players on other sites.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// AccessLog is a file that receives one JSON line per request, smd's
	// access event format (docs/access.md); optional.
	AccessLog string `json:"access_log,omitempty"`
	// ID names this server in access events (default: the host name).
	ID string `json:"id,omitempty"`

	mw      *middleware.Handler
	logFile *os.File
	cancel  context.CancelFunc
}

// Route is a path prefix and what is checked under it.
type Route struct {
	Prefix string `json:"prefix"`
	// Mode is enforce (the default), log or off.
	Mode string `json:"mode,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.smd",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the keys and the revoked sessions and builds the
// pipeline.
func (h *Handler) Provision(ctx caddy.Context) error {
	log := ctx.Slogger()
	if h.KeysFile == "" {
		return errors.New("smd: keys_file is required")
	}
	ring, err := keyring.LoadFile(h.KeysFile)
	if err != nil {
		return fmt.Errorf("smd: keys_file: %w", err)
	}
	var bg context.Context
	bg, h.cancel = context.WithCancel(context.Background())
	go ring.Run(bg, durationOr(h.KeysReload, 10*time.Second), log)
	o := middleware.Options{
		Keys:           ring,
		TrustedProxies: h.TrustedProxies,
		ClientIPHeader: h.ClientIPHeader,
		GeoHeaders:     h.GeoHeaders,
		Status:         h.Status,
		ClockSkew:      time.Duration(h.ClockSkew),
		AllowedOrigins: h.AllowedOrigins,
		Log:            log,
		ID:             h.ID,
	}
	if o.ID == "" {
		o.ID, _ = os.Hostname()
	}
	if h.RevokedFile != "" {
		set := revocation.NewSet()
		w := &revocation.FileWatcher{Path: h.RevokedFile, Interval: durationOr(h.RevokedReload, time.Second), Set: set, Log: log}
		if err := w.Load(); err != nil {
			h.cancel()
			return fmt.Errorf("smd: revoked_file: %w", err)
		}
		go w.Run(bg)
		o.Revoked = set
	}
	for _, r := range h.Routes {
		o.Routes = append(o.Routes, middleware.Route{Prefix: r.Prefix, Mode: r.Mode})
	}
	if h.AccessLog != "" {
		if h.logFile, err = os.OpenFile(h.AccessLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err != nil {
			h.cancel()
			return fmt.Errorf("smd: access_log: %w", err)
		}
		o.AccessLog = h.logFile
	}
	if h.mw, err = middleware.New(http.HandlerFunc(callNext), o); err != nil {
		h.Cleanup()
		return fmt.Errorf("smd: %w", err)
	}
	return nil
}

// Validate is done in Provision: the options are checked where the
// pipeline is built.
func (h *Handler) Validate() error { return nil }

// Cleanup stops the file watchers and writes out the access log.
func (h *Handler) Cleanup() error {
	if h.cancel != nil {
		h.cancel()
	}
	var errs []error
	if h.mw != nil {
		errs = append(errs, h.mw.Close())
	}
	if h.logFile != nil {
		errs = append(errs, h.logFile.Close())
	}
	return errors.Join(errs...)
}

// next carries Caddy's next handler through the pipeline to callNext,
// and its error back.
type next struct {
	h   caddyhttp.Handler
	err error
}

type nextKey struct{}

// ServeHTTP checks the request; one that passes goes on to next with the
// token removed from its path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, nh caddyhttp.Handler) error {
	n := &next{h: nh}
	h.mw.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nextKey{}, n)))
	return n.err
}

// callNext is the pipeline's next handler: Caddy's.
func callNext(w http.ResponseWriter, r *http.Request) {
	n := r.Context().Value(nextKey{}).(*next)
	n.err = n.h.ServeHTTP(w, r)
}

func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
