// Package smdcaddy is smd's token check as a Caddy module: the
// http.handlers.smd handler checks each request's token in-process (no
// round trip to an auth service), refuses revoked sessions, and hands the
// request on with the token removed from its path, typically to
// reverse_proxy or file_server.
//
// It lives in its own Go module so that smd's main module does not depend
// on Caddy. Build a Caddy with it from a published version:
//
//	xcaddy build --with github.com/smd-media/smd/caddy@<version>
//
// or from a checkout of smd: go build ./cmd/caddy (in this directory).
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
// The checks are smd's edge pipeline (internal/edge); keys and revoked
// sessions come from files that are re-read when they change, or from
// smd's control plane over NATS (with the access stream and heartbeats,
// through internal/node's Feed). docs/drop-in.md has every option.
package smdcaddy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/edge"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/revocation"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the http.handlers.smd module.
type Handler struct {
	// KeysFile holds the verification keys: a JSON map {kid: secret} or
	// SMDE's Secrets Manager export (smd edge's keys_file). Required
	// unless NATS is set.
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
	// ID names this server in access events and heartbeats (default: the
	// host name).
	ID string `json:"id,omitempty"`
	// NATS connects the handler to smd's control plane as `smd edge
	// --nats` is: keys and revoked sessions follow NATS (no keys_file or
	// revoked_file), access events go to the access stream (the detector
	// sees this server's viewers), heartbeats report it. Optional.
	NATS *NATS `json:"nats,omitempty"`

	edge   *edge.Edge
	access *accesslog.Logger
	feed   *node.Feed
	cancel context.CancelFunc
}

// NATS is the control plane's NATS, as smd edge's nats.* keys.
type NATS struct {
	// URLs of the NATS servers, e.g. ["nats://n1:4222"]. Required.
	URLs []string `json:"urls"`
	// CredsFile, NKeyFile, User/Password or Token authenticate.
	CredsFile string `json:"creds_file,omitempty"`
	NKeyFile  string `json:"nkey_file,omitempty"`
	User      string `json:"user,omitempty"`
	Password  string `json:"password,omitempty"`
	Token     string `json:"token,omitempty"`
	// CAFile, CertFile and KeyFile set up TLS to the servers.
	CAFile   string `json:"ca_file,omitempty"`
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// MasterKeyFile holds the deployment's master key, which decrypts the
	// signing keys in NATS (default <data_dir>/master.key;
	// SMD_MASTER_KEY wins).
	MasterKeyFile string `json:"master_key_file,omitempty"`
	// DataDir holds the snapshots of the keys and revoked sessions that
	// the handler starts from while NATS is away, and the access spool.
	// Required.
	DataDir string `json:"data_dir"`
	// AccessStream publishes access events to the access stream (default
	// true).
	AccessStream *bool `json:"access_stream,omitempty"`
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

// Provision loads the keys and the revoked sessions (from files, or from
// NATS) and builds the pipeline.
func (h *Handler) Provision(ctx caddy.Context) error {
	log := ctx.Slogger()
	if h.ID == "" {
		h.ID, _ = os.Hostname()
	}
	var bg context.Context
	bg, h.cancel = context.WithCancel(context.Background())
	d := edge.Deps{Next: http.HandlerFunc(callNext), Log: log}
	var err error
	if err = h.feedFrom(bg, &d, log); err != nil {
		h.Cleanup()
		return err
	}
	if h.AccessLog != "" {
		f, err := os.OpenFile(h.AccessLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			h.Cleanup()
			return fmt.Errorf("smd: access_log: %w", err)
		}
		h.access = accesslog.New(f, 4096, log) // closes the file
		if d.Access != nil {
			d.Access = accesslog.Multi{d.Access, h.access}
		} else {
			d.Access = h.access
		}
	}
	routes := []edge.Route{{Prefix: "/"}}
	if len(h.Routes) > 0 {
		routes = make([]edge.Route, len(h.Routes))
		for i, r := range h.Routes {
			routes[i] = edge.Route{Prefix: r.Prefix, Mode: r.Mode}
		}
	}
	if h.edge, err = edge.New(edge.Config{
		ID:             h.ID,
		Routes:         routes,
		TrustedProxies: h.TrustedProxies,
		ClientIPHeader: h.ClientIPHeader,
		GeoHeaders:     h.GeoHeaders,
		CORS:           edge.CORS{AllowedOrigins: h.AllowedOrigins, MaxAge: time.Hour},
		Status:         h.Status,
		ClockSkew:      time.Duration(h.ClockSkew),
	}, d); err != nil {
		h.Cleanup()
		return fmt.Errorf("smd: %w", err)
	}
	return nil
}

// feedFrom sets the pipeline's keys and revoked sessions (and access
// stream): from NATS when configured, else from the files, re-read when
// they change.
func (h *Handler) feedFrom(bg context.Context, d *edge.Deps, log *slog.Logger) error {
	if h.NATS != nil {
		if h.KeysFile != "" || h.RevokedFile != "" {
			return errors.New("smd: keys_file and revoked_file are set together with nats: keys and revocations come from NATS; remove one")
		}
		cfg, err := h.NATS.edgeConfig(h.ID)
		if err != nil {
			return err
		}
		h.feed, err = node.StartEdgeFeed(bg, cfg, "caddy", func() (uint64, uint64) {
			if h.edge == nil {
				return 0, 0
			}
			return h.edge.Counts()
		}, log)
		if err != nil {
			return fmt.Errorf("smd: nats: %w", err)
		}
		d.Keys, d.Revoked, d.Access = h.feed.Keys(), h.feed.Revocations(), h.feed.Access()
		return nil
	}
	if h.KeysFile == "" {
		return errors.New("smd: keys_file (or nats) is required")
	}
	ring, err := keyring.LoadFile(h.KeysFile)
	if err != nil {
		return fmt.Errorf("smd: keys_file: %w", err)
	}
	go ring.Run(bg, durationOr(h.KeysReload, 10*time.Second), log)
	d.Keys = ring
	if h.RevokedFile != "" {
		set := revocation.NewSet()
		w := &revocation.FileWatcher{Path: h.RevokedFile, Interval: durationOr(h.RevokedReload, time.Second), Set: set, Log: log}
		if err := w.Load(); err != nil {
			return fmt.Errorf("smd: revoked_file: %w", err)
		}
		go w.Run(bg)
		d.Revoked = set
	}
	return nil
}

// edgeConfig is an edge configuration with these NATS settings, validated
// as smd edge validates its own (the same messages).
func (n *NATS) edgeConfig(id string) (*config.Edge, error) {
	cfg := config.DefaultEdge()
	cfg.ID, cfg.Mode = id, config.EdgeAuth
	cfg.NATS.URLs, cfg.NATS.CredsFile, cfg.NATS.NKeyFile = n.URLs, n.CredsFile, n.NKeyFile
	cfg.NATS.User, cfg.NATS.Password, cfg.NATS.Token = n.User, n.Password, n.Token
	cfg.NATS.CAFile, cfg.NATS.CertFile, cfg.NATS.KeyFile = n.CAFile, n.CertFile, n.KeyFile
	cfg.MasterKeyFile, cfg.DataDir = n.MasterKeyFile, n.DataDir
	if n.AccessStream != nil {
		cfg.AccessStream.Enabled = n.AccessStream
	}
	if len(n.URLs) == 0 {
		return nil, errors.New("smd: nats: urls is required")
	}
	if n.DataDir == "" {
		return nil, errors.New("smd: nats: data_dir is required (snapshots of keys and revoked sessions, the access spool)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("smd: nats: %w", err)
	}
	return &cfg, nil
}

// Validate is done in Provision: the options are checked where the
// pipeline is built.
func (h *Handler) Validate() error { return nil }

// Cleanup stops the file watchers or the NATS feed and writes out the
// access events.
func (h *Handler) Cleanup() error {
	if h.cancel != nil {
		h.cancel()
	}
	var errs []error
	if h.feed != nil {
		errs = append(errs, h.feed.Close())
	}
	if h.access != nil {
		errs = append(errs, h.access.Close())
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
	h.edge.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nextKey{}, n)))
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
