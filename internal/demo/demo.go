package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/origin"
	"github.com/smd-media/smd/internal/site"
	"github.com/smd-media/smd/internal/viewer"
)

// Defaults of smd demo.
const (
	DefaultListen  = "127.0.0.1:8080"
	DefaultDataDir = "smd-demo-data"
)

// Config configures a demo.
type Config struct {
	// Listen is the one address of the site, the API and the media.
	Listen string
	// PublicURL is the URL viewers open (scheme://host[:port]); the demo
	// assets' playback URLs name its host. Default: http://<Listen>, with
	// 127.0.0.1 for a wildcard host.
	PublicURL string
	// NATSListen, when set, is the embedded NATS server's client address
	// for other processes (smd access tail); none by default.
	NATSListen string
	// OriginListen is the sample origin's address (default 127.0.0.1:0: a
	// free port; only the edge talks to it).
	OriginListen string
	// DataDir holds the demo's state (NATS, keys, API keys); kept between
	// runs.
	DataDir string
	// Version is what the edge reports.
	Version string
	// Log receives the logs.
	Log *slog.Logger
}

// Demo is a running demo.
type Demo struct {
	// URL is the page to open.
	URL string
	// DataDir is where the demo's state lives (absolute).
	DataDir string
	// AdminKeyFile holds the admin API key (the dashboard's login).
	AdminKeyFile string
	// Node is the smd serve of the demo.
	Node *node.Node

	origin *http.Server
	site   *site.Site
	once   sync.Once
	err    error
}

// Assets are the demo's assets: id, label, protocol, live, manifest path.
var Assets = []struct {
	site.Asset
	Path string
}{
	// An hour-long title (the clip looped), so that playback goes on
	// while a visitor tries the buttons.
	{site.Asset{ID: "demo_hls_vod", Label: "HLS, video on demand", Protocol: "hls", Dir: "/long/60/demo-hls/"}, "/long/60/demo-hls/master.m3u8"},
	{site.Asset{ID: "demo_dash_vod", Label: "DASH, video on demand", Protocol: "dash", Dir: "/long/60/demo-dash/"}, "/long/60/demo-dash/manifest.mpd"},
	{site.Asset{ID: "demo_hls_live", Label: "HLS, live", Protocol: "hls", Live: true, Dir: "/live/demo-hls/"}, "/live/demo-hls/master.m3u8"},
	{site.Asset{ID: "demo_dash_live", Label: "DASH, live", Protocol: "dash", Live: true, Dir: "/live/demo-dash/"}, "/live/demo-dash/manifest.mpd"},
}

// PortTakenError says the demo's address is in use.
type PortTakenError struct{ Addr string }

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("%s is already in use (another smd demo, or another server?): stop it, or pick another address with --listen, e.g. --listen 127.0.0.1:8090", e.Addr)
}

// Start starts the demo and returns once a token from the page plays.
func Start(ctx context.Context, c Config) (_ *Demo, err error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.OriginListen == "" {
		c.OriginListen = "127.0.0.1:0"
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: want host:port, e.g. 127.0.0.1:8080", c.Listen)
	}
	// Bind first, so that a taken port is named plainly; the edge binds
	// it again a moment later.
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &PortTakenError{c.Listen}
		}
		return nil, fmt.Errorf("--listen %s: %w", c.Listen, err)
	}
	if port == "0" {
		port = fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		c.Listen = net.JoinHostPort(host, port)
	}
	ln.Close()
	if c.PublicURL == "" {
		h := host
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			h = "127.0.0.1"
		}
		c.PublicURL = "http://" + net.JoinHostPort(h, port)
	}
	public, err := parsePublic(c.PublicURL)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	d := &Demo{URL: public + "/", DataDir: dir, AdminKeyFile: filepath.Join(dir, "api-keys.admin")}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	// The sample origin, on loopback: only the edge reads it.
	o, err := origin.New(origin.Config{Logger: c.Log.With("part", "origin"), TimeURL: "/time"})
	if err != nil {
		return nil, err
	}
	oln, err := net.Listen("tcp", c.OriginListen)
	if err != nil {
		return nil, fmt.Errorf("--origin-listen %s: %w", c.OriginListen, err)
	}
	d.origin = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(c.Log.With("part", "origin").Handler(), slog.LevelWarn)}
	go d.origin.Serve(oln)

	secret := filepath.Join(dir, "request-signing.secret")
	if err := ensureSecret(secret); err != nil {
		return nil, err
	}
	cfg := serveConfig(c.Listen, dir, "http://"+oln.Addr().String(), secret)
	cfg.EmbeddedNATS.Listen = c.NATSListen
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The site is built once the API answers; until then "/" says so.
	var siteH lazyHandler
	d.Node, err = node.StartServe(ctx, cfg, c.Version, c.Log, node.WithMount("/", &siteH))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &PortTakenError{c.Listen}
		}
		return nil, err
	}
	edge := "http://" + node.LoopbackAddr(d.Node.Edge.Addr)
	key, err := os.ReadFile(d.AdminKeyFile)
	if err != nil {
		return nil, fmt.Errorf("admin key: %w", err)
	}
	admin, err := client.New(edge, strings.TrimSpace(string(key)))
	if err != nil {
		return nil, err
	}
	if err := ensureAssets(ctx, admin, hostOf(public)); err != nil {
		return nil, err
	}
	var assets []site.Asset
	for _, a := range Assets {
		assets = append(assets, a.Asset)
	}
	// The page's backend proves sessions as the demo's edge would.
	trusted, err := viewer.ParseTrusted(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	d.site, err = site.New(site.Config{
		Assets: assets, API: admin, APIHandler: d.Node.APIHandler, Edge: edge, PublicOrigins: []string{public},
		Keys: d.Node.EdgeKeys, Viewers: viewer.Identifier{Trusted: trusted, GeoHeaders: cfg.Geo.Source == "headers"},
		Metrics: d.Node.Registry, Simulate: simulator(edge, admin, c.Log), Log: c.Log.With("part", "site"),
	})
	if err != nil {
		return nil, err
	}
	siteH.set(d.site)
	return d, nil
}

// serveConfig is smd serve's configuration for the demo.
func serveConfig(listen, dir, originURL, secret string) *config.Serve {
	s := config.DefaultServe()
	cfg := &s
	cfg.ID = "demo"
	cfg.DataDir = dir
	cfg.Listen = listen
	cfg.Admin.Listen = ""
	// The share demo and the simulator play from simulated places: the
	// edge believes this machine's X-Forwarded-For and geo headers.
	cfg.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
	cfg.Geo.Source = "headers"
	cfg.Routes = []config.Route{
		{Prefix: "/vod/", Origin: originURL},
		{Prefix: "/live/", Origin: originURL},
		{Prefix: "/long/", Origin: originURL},
		// DASH live players set their clocks from the origin's /time.
		{Prefix: "/time", Origin: originURL, Mode: config.ModeOff},
	}
	k := &cfg.Control
	k.PublicTokenEndpoint = true
	k.TokenRate, k.TokenBurst = 20, 60
	k.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
	k.GeoHeaders = true
	k.RequestSigning.Enabled = true
	k.RequestSigning.SecretFile = secret
	return cfg
}

// ensureSecret writes a random request-signing secret when there is none.
func ensureSecret(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(hex.EncodeToString(b[:])+"\n"), 0o600)
}

// ensureAssets creates the demo's assets, or points them at host.
func ensureAssets(ctx context.Context, api *client.Client, host string) error {
	for _, a := range Assets {
		cur, err := api.Asset(ctx, a.ID)
		var ae *client.Error
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			js, _ := json.Marshal(map[string]any{
				"id": a.ID, "url_path": a.Path, "endpoint_hostname": host,
				"token_policy": map[string]any{"ssn": true, "paths": []string{a.Dir}, "exp": "+2h", "headers": []string{}},
			})
			if _, err := api.CreateAsset(ctx, js); err != nil {
				return fmt.Errorf("asset %s: %w", a.ID, err)
			}
		case err != nil:
			return fmt.Errorf("asset %s: %w", a.ID, err)
		case cur.EndpointHostname != host:
			cur.EndpointHostname = host
			js, err := json.Marshal(cur)
			if err != nil {
				return err
			}
			if _, err := api.UpdateAsset(ctx, a.ID, js); err != nil {
				return fmt.Errorf("asset %s: %w", a.ID, err)
			}
		}
	}
	return nil
}

// Wait blocks until ctx ends or a part fails, then stops the demo.
func (d *Demo) Wait(ctx context.Context) error {
	err := d.Node.Wait(ctx)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops everything: the site's work, the node, the origin.
func (d *Demo) Close() error {
	d.once.Do(func() {
		var errs []error
		if d.site != nil {
			d.site.Close()
		}
		if d.Node != nil {
			errs = append(errs, d.Node.Close())
		}
		if d.origin != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, d.origin.Shutdown(sctx))
			cancel()
		}
		d.err = errors.Join(errs...)
	})
	return d.err
}

// lazyHandler answers 503 until set.
type lazyHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (l *lazyHandler) set(h http.Handler) {
	l.mu.Lock()
	l.h = h
	l.mu.Unlock()
}

func (l *lazyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.RLock()
	h := l.h
	l.mu.RUnlock()
	if h == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "smd demo is starting; reload in a moment", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// parsePublic checks a public URL and returns it without a trailing slash.
func parsePublic(s string) (string, error) {
	s = strings.TrimSuffix(s, "/")
	i := strings.Index(s, "://")
	if i < 0 || (s[:i] != "http" && s[:i] != "https") || strings.ContainsAny(s[i+3:], "/?#@ ") || s[i+3:] == "" {
		return "", fmt.Errorf("--public-url %q: want http(s)://host[:port]", s)
	}
	return s, nil
}

// hostOf is the host[:port] of a public URL.
func hostOf(public string) string { return public[strings.Index(public, "://")+3:] }
