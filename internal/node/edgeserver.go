package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/quic-go/quic-go/http3"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/acme"
	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/internal/certs"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/connlimit"
	"github.com/smd-media/smd/internal/edge"
	"github.com/smd-media/smd/internal/gcfloor"
	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/internal/h1"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/mediatime"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/token"
)

// EdgeServer is a running edge: its listeners and everything behind
// them, built from a configuration.
type EdgeServer struct {
	// Edge is the request pipeline.
	Edge *edge.Edge
	// Addr, TLSAddr and AdminAddr are the bound addresses ("" when off).
	Addr, TLSAddr, AdminAddr string
	// HTTP3Addr is the bound UDP address of HTTP/3 ("" when off).
	HTTP3Addr string

	cfg      *config.Edge
	log      *slog.Logger
	cache    *cache.Cache
	access   *accesslog.Logger
	geo      *geo.MMDB
	asn      *geo.ASNDB
	servers  []httpServer
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errs     chan error
	closeErr error
	once     sync.Once
	extras   EdgeExtras
	// cfgMu guards cfg, which Reload replaces.
	cfgMu sync.Mutex
	// rereads have the key file and the revoked file read again (Reload).
	rereads []func()
	// acme manages the HTTPS certificate when tls.acme is set.
	acme *acme.Manager
	// h3 serves HTTP/3 when tls.http3.listen is set.
	h3 *http3.Server
}

// EdgeExtras are what a process running more than an edge (smd serve,
// an edge fed from NATS) gives it instead of files.
type EdgeExtras struct {
	// Keys replaces keys_file: a key ring kept up to date from NATS.
	Keys token.KeyRing
	// KeyCount reports the number of keys held, for the metrics.
	KeyCount func() int
	// Revoked replaces revoked_file: a set kept up to date from NATS.
	Revoked interface {
		revocation.Checker
		Len() int
	}
	// Mount serves path prefixes (e.g. "/v1/": the control plane's API)
	// before the media pipeline: no token check, no cache. A handler at
	// "/" is the fallback: it serves the requests no route claims (the
	// demo's website), never a path under a route.
	Mount map[string]http.Handler
	// Registry receives the edge's metrics and is served on /metrics; a
	// new one when nil.
	Registry *prometheus.Registry
	// Ready, when set, must return nil for /readyz to answer 200.
	Ready func() error
	// Access receives the access events besides the access log file (if
	// any): the publisher to the access stream.
	Access edge.AccessLogger
}

// StartFileEdge builds an edge fed from files (keys_file, revoked_file)
// from a validated configuration and starts serving. It fails, naming the
// cause, if a file cannot be read or an address bound.
func StartFileEdge(ctx context.Context, cfg *config.Edge, log *slog.Logger) (*EdgeServer, error) {
	return StartEdgeServer(ctx, cfg, log, EdgeExtras{})
}

// StartEdgeServer is StartFileEdge with keys, revocations, mounted
// handlers and a metrics registry from the caller.
func StartEdgeServer(ctx context.Context, cfg *config.Edge, log *slog.Logger, x EdgeExtras) (*EdgeServer, error) {
	s := &EdgeServer{cfg: cfg, log: log, errs: make(chan error, 4), extras: x}
	ctx, s.cancel = context.WithCancel(ctx)
	if err := s.start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *EdgeServer) start(ctx context.Context) error {
	cfg := s.cfg
	reg := s.extras.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	d := edge.Deps{Log: s.log, Registerer: reg}
	gcfloor.Start(int64(cfg.Server.GCFloor), s.log)

	if x := s.extras; x.Keys != nil {
		d.Keys = x.Keys
		if x.KeyCount != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "smd_edge_keys", Help: "Verification keys held.",
			}, func() float64 { return float64(x.KeyCount()) }))
		}
	} else if cfg.KeysFile != "" {
		ring, err := keyring.LoadFile(cfg.KeysFile)
		if err != nil {
			return err
		}
		s.rereads = append(s.rereads, ring.Reread)
		d.Keys = ring
		s.goRun(func() error { return ring.Run(ctx, cfg.KeysReload.D(), s.log) })
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smd_edge_keys", Help: "Verification keys held.",
		}, func() float64 { return float64(ring.Len()) }))
	}
	var set interface {
		revocation.Checker
		Len() int
	}
	if s.extras.Revoked != nil {
		set = s.extras.Revoked
	} else {
		fs := revocation.NewSet()
		set = fs
		if cfg.RevokedFile != "" {
			w := &revocation.FileWatcher{Path: cfg.RevokedFile, Interval: cfg.RevokedReload.D(), Set: fs, Log: s.log}
			if err := w.Load(); err != nil {
				return err
			}
			s.rereads = append(s.rereads, w.Reread)
			s.goRun(func() error { return w.Run(ctx) })
		}
	}
	d.Revoked = set
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smd_edge_revoked_sessions", Help: "Revoked sessions held.",
	}, func() float64 { return float64(set.Len()) }))

	if cfg.Geo.Source == "mmdb" {
		db, err := geo.OpenMMDB(cfg.Geo.MMDBFile)
		if err != nil {
			return err
		}
		s.geo, d.Geo = db, db
	}
	if cfg.Geo.ASNFile != "" {
		db, err := geo.OpenASN(cfg.Geo.ASNFile)
		if err != nil {
			return err
		}
		s.asn, d.ASN = db, db
	}
	if cfg.Mode != config.EdgeAuth { // in auth mode the proxy caches and serves
		if err := s.startCache(reg, &d); err != nil {
			return err
		}
	}

	if cfg.AccessLog.File != "" {
		s.access = accesslog.New(accesslog.OpenFile(accesslog.FileConfig{
			Path:       cfg.AccessLog.File,
			MaxBytes:   int64(cfg.AccessLog.MaxSize),
			MaxBackups: cfg.AccessLog.MaxBackups,
			MaxAgeDays: int(cfg.AccessLog.MaxAge.D() / (24 * time.Hour)),
		}), cfg.AccessLog.Buffer, s.log)
		d.Access = s.access
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "smd_edge_access_events_dropped_total", Help: "Access events dropped because the writer fell behind.",
		}, func() float64 { return float64(s.access.Dropped()) }))
	}
	if x := s.extras.Access; x != nil {
		if d.Access != nil {
			d.Access = accesslog.Multi{d.Access, x}
		} else {
			d.Access = x
		}
	}

	var err error
	if s.Edge, err = edge.New(PipelineConfig(cfg), d); err != nil {
		return err
	}
	srv := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
			IdleTimeout:       cfg.Server.IdleTimeout.D(),
			WriteTimeout:      cfg.Server.WriteTimeout.D(),
			MaxHeaderBytes:    int(cfg.Server.MaxHeaderBytes),
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
	}
	// net/http is laxer than the lean server (a Host's characters only,
	// bodies on GET, Expect, HTTP/1.2, ...): h1.Strict refuses on it what
	// the lean server refuses, and on the plain listener an h1.Guard
	// judges the bytes of each head as the lean server does. The mounted
	// handlers (the API) take request bodies: neither applies to them.
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smd_edge_http_refused_total",
		Help: "Requests the HTTP layer refused before the edge saw them (malformed, bodies, Expect, too large, TLS on the plain port), by code.",
	}, []string{"code"})
	reg.MustRegister(refused)
	countRefusal := func(code string) { refused.WithLabelValues(code).Inc() }
	maxConns := cfg.Server.MaxConnections
	if maxConns == 0 {
		maxConns = connlimit.Default()
	}
	lim := connlimit.New(maxConns)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_connections_open", Help: "Viewer connections open (plain and HTTPS listeners)."},
			func() float64 { return float64(lim.Open()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_connections_max", Help: "server.max_connections in effect."},
			func() float64 { return float64(lim.Max()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_edge_connections_limited_total", Help: "Times a new viewer connection had to wait in the listen queue because server.max_connections were open."},
			func() float64 { return float64(lim.Waited()) }),
	)
	var media http.Handler = h1.Strict(s.Edge, countRefusal)
	var handoff func(*http.Request) bool
	mount := maps.Clone(s.extras.Mount)
	if cfg.TLS.ACME.Enabled() {
		// The CA's HTTP-01 requests, on the plain listener, before any
		// route (no token in them).
		if s.acme, err = s.newACME(); err != nil {
			return err
		}
		if mount == nil {
			mount = map[string]http.Handler{}
		}
		mount[acmeChallengePrefix] = s.acme.HTTPHandler(http.NotFoundHandler())
	}
	prefixes := mountPrefixes(mount)
	fallback := mount["/"]
	if len(prefixes) > 0 || fallback != nil {
		media = mounts(mount, prefixes, fallback, s.Edge.Claims, media)
		handoff = func(r *http.Request) bool {
			return mounted(prefixes, r.URL.Path) || fallback != nil && !s.Edge.Claims(r)
		}
	}
	if cfg.Listen != "" {
		var hs httpServer
		var wrap func(net.Listener) net.Listener
		if cfg.Server.Engine == config.EngineLean {
			ls := &h1.Server{
				Handler:           s.Edge,
				ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
				IdleTimeout:       cfg.Server.IdleTimeout.D(),
				WriteTimeout:      cfg.Server.WriteTimeout.D(),
				MaxHeaderBytes:    int(cfg.Server.MaxHeaderBytes),
				Log:               s.log,
				Refused:           countRefusal,
			}
			if handoff != nil {
				// The lean server refuses request bodies: it hands the
				// connections of the mounted handlers to net/http.
				ls.Handoff = handoff
				ls.Fallback = srv(media)
			}
			hs = ls
		} else {
			g := &h1.Guard{MaxHeaderBytes: int(cfg.Server.MaxHeaderBytes), Handoff: handoff, Refused: countRefusal}
			hsrv := srv(media)
			hsrv.ConnContext = g.ConnContext
			hs, wrap = hsrv, func(ln net.Listener) net.Listener { return g.Listener(lim.Listener(ln)) }
		}
		if wrap == nil {
			wrap = lim.Listener
		}
		if s.Addr, err = s.listen(cfg.Listen, hs, nil, wrap); err != nil {
			return err
		}
	}
	if cfg.TLS.Listen != "" {
		tc, err := s.tlsConfig(ctx, reg)
		if err != nil {
			return err
		}
		tlsMedia, leanMedia := media, http.Handler(s.Edge)
		if cfg.TLS.HTTP3.Listen != "" {
			h3, err := s.listenHTTP3(tc, media)
			if err != nil {
				return err
			}
			// HTTPS answers announce HTTP/3 (Alt-Svc).
			altSvc := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h3.SetQUICHeaders(w.Header())
					h.ServeHTTP(w, r)
				})
			}
			tlsMedia, leanMedia = altSvc(media), altSvc(s.Edge)
		}
		hs := srv(tlsMedia)
		hs.TLSConfig = tc
		var server httpServer = hs
		if cfg.Server.Engine == config.EngineLean && len(s.extras.Mount) == 0 {
			// HTTP/1.1 over TLS on the lean server, as on the plain
			// listener; a client that chooses HTTP/2 is handed to
			// net/http after the handshake. With mounted handlers (smd
			// serve's API, a website), net/http serves it all (ACME's
			// HTTP-01 path is the plain listener's only).
			server = &h1.Server{
				Handler:           leanMedia,
				ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
				IdleTimeout:       cfg.Server.IdleTimeout.D(),
				WriteTimeout:      cfg.Server.WriteTimeout.D(),
				MaxHeaderBytes:    int(cfg.Server.MaxHeaderBytes),
				Fallback:          hs,
				Log:               s.log,
				Refused:           countRefusal,
			}
		}
		if s.TLSAddr, err = s.listen(cfg.TLS.Listen, server, tc, lim.Listener); err != nil {
			return err
		}
	}
	if cfg.Admin.Listen != "" {
		if s.AdminAddr, err = s.listen(cfg.Admin.Listen, srv(s.adminMux(reg)), nil, nil); err != nil {
			return err
		}
	}
	if s.acme != nil {
		if err := s.acme.Start(ctx, port(s.Addr), port(s.TLSAddr)); err != nil {
			return err
		}
	}
	s.log.Info("edge started", "id", cfg.ID, "http", s.Addr, "https", s.TLSAddr, "admin", s.AdminAddr, "routes", len(cfg.Routes), "max_connections", maxConns)
	return nil
}

// tlsConfig is the HTTPS listener's configuration: the certificate from
// its files, reloaded when they change (and on SIGHUP) without closing a
// connection; the configured minimum version and TLS 1.2 suites.
func (s *EdgeServer) tlsConfig(ctx context.Context, reg prometheus.Registerer) (*tls.Config, error) {
	cfg := s.cfg.TLS
	tc, err := s.certificates(ctx, reg)
	if err != nil {
		return nil, err
	}
	// The settings are validated. Empty lists keep the defaults: nil, not
	// empty (crypto/tls reads an empty CipherSuites as none).
	tc.MinVersion, _ = config.TLSVersion(cfg.MinVersion)
	if ids, _ := config.CipherSuiteIDs(cfg.CipherSuites); len(ids) > 0 {
		tc.CipherSuites = ids
	}
	if ids, _ := config.CurveIDs(cfg.CurvePreferences); len(ids) > 0 {
		tc.CurvePreferences = ids
	}
	tc.NextProtos = append([]string{"h2", "http/1.1"}, tc.NextProtos...)
	return tc, s.ticketKeys(tc)
}

// certificates is the HTTPS listener's certificate source: ACME's, or the
// files', reloaded when they change and OCSP-stapled; with its metrics.
func (s *EdgeServer) certificates(ctx context.Context, reg prometheus.Registerer) (*tls.Config, error) {
	cfg := s.cfg.TLS
	if s.acme != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_tls_certificate_expiry_seconds", Help: "When the HTTPS certificate held expires, in Unix seconds (0 while ACME has not issued one)."},
			unixOrZero(s.acme.NotAfter)))
		return s.acme.TLSConfig(), nil // its NextProtos answer TLS-ALPN-01
	}
	r, err := certs.New(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	if cfg.OCSPStapling {
		r.StapleOCSP(nil)
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_tls_ocsp_staple_next_update_seconds", Help: "The next-update time of the OCSP answer stapled to HTTPS handshakes, in Unix seconds (0 when none is)."},
			unixOrZero(r.StapleNextUpdate)))
		for _, res := range certs.OCSPResults {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_edge_tls_ocsp_fetches_total", Help: "Answers asked of the certificate's OCSP responder, by result (good, revoked, unknown, error).",
				ConstLabels: prometheus.Labels{"result": res}}, func() float64 { return float64(r.OCSPFetches(res)) }))
		}
	}
	s.goRun(func() error { return r.Run(ctx, cfg.Reload.D(), s.log) })
	s.rereads = append(s.rereads, r.Reread)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_tls_certificate_expiry_seconds", Help: "When the HTTPS certificate held expires, in Unix seconds."},
			func() float64 { return float64(r.NotAfter().Unix()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_edge_tls_certificate_loads_total", Help: "HTTPS certificates loaded from their files (the first included)."},
			func() float64 { return float64(r.Loads()) }),
	)
	return &tls.Config{GetCertificate: r.GetCertificate}, nil
}

// unixOrZero is a gauge of a time in Unix seconds, 0 for the zero time.
func unixOrZero(t func() time.Time) func() float64 {
	return func() float64 {
		if v := t(); !v.IsZero() {
			return float64(v.Unix())
		}
		return 0
	}
}

// ticketKeys gives tc the session ticket keys of tls.session_ticket_key_files,
// and reads them again on SIGHUP (Reload); HTTP/3's copy of tc follows.
func (s *EdgeServer) ticketKeys(tc *tls.Config) error {
	files := s.cfg.TLS.SessionTicketKeyFiles
	if len(files) == 0 {
		return nil
	}
	keys, err := certs.LoadTicketKeys(files)
	if err != nil {
		return err
	}
	tc.SetSessionTicketKeys(keys)
	s.rereads = append(s.rereads, func() {
		keys, err := certs.LoadTicketKeys(files)
		if err != nil {
			s.log.Error("TLS session ticket keys not reloaded; keeping the current ones", "err", err)
			return
		}
		tc.SetSessionTicketKeys(keys)
		if s.h3 != nil {
			s.h3.TLSConfig.SetSessionTicketKeys(keys)
		}
		s.log.Info("TLS session ticket keys reloaded", "keys", len(keys))
	})
	return nil
}

// listenHTTP3 serves HTTP/3 over QUIC on tls.http3.listen (UDP) with the
// HTTPS listener's certificate and the same handler: the same pipeline
// and checks.
func (s *EdgeServer) listenHTTP3(tc *tls.Config, h http.Handler) (*http3.Server, error) {
	cfg := s.cfg
	pc, err := net.ListenPacket("udp", cfg.TLS.HTTP3.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s (udp): %w", cfg.TLS.HTTP3.Listen, err)
	}
	h3 := &http3.Server{
		Handler:        h,
		TLSConfig:      http3.ConfigureTLSConfig(tc),
		Port:           cfg.TLS.HTTP3.AdvertisePort,
		MaxHeaderBytes: int(cfg.Server.MaxHeaderBytes),
		IdleTimeout:    cfg.Server.IdleTimeout.D(),
		Logger:         s.log.With("part", "http3"),
	}
	s.HTTP3Addr = pc.LocalAddr().String()
	s.h3 = h3
	s.goRun(func() error {
		if err := h3.Serve(pc); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("serve %s (http/3): %w", s.HTTP3Addr, err)
		}
		return nil
	})
	return h3, nil
}

// acmeChallengePrefix is where an ACME CA asks for HTTP-01 answers.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// newACME prepares the certificates an ACME CA issues (tls.acme).
func (s *EdgeServer) newACME() (*acme.Manager, error) {
	a := s.cfg.TLS.ACME
	dir := a.StorageDir
	if dir == "" {
		dir = filepath.Join(s.cfg.DataDir, "acme")
	}
	return acme.New(acme.Config{
		Domains: a.Domains, Email: a.Email, CA: a.CA, CARootFile: a.CARootFile, Challenges: a.Challenges,
		StorageDir: dir, RenewCheckInterval: a.RenewCheckInterval.D(), Log: s.log,
	})
}

// port is the port of a bound host:port, 0 for "".
func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// startCache makes the object cache, the pipeline's fetcher.
func (s *EdgeServer) startCache(reg prometheus.Registerer, d *edge.Deps) error {
	cfg := s.cfg
	durations := mediatime.NewDurations()
	c, err := cache.New(cache.Config{
		OnPlaylist: func(u string, body []byte) {
			if _, err := durations.Learn(u, body); err != nil {
				s.log.Debug("edge: a manifest taught no segment durations", "url", u, "err", err)
			}
		},
		MaxBytes:              int64(cfg.Cache.MaxBytes),
		MaxObjectBytes:        int64(cfg.Cache.MaxObjectBytes),
		PlaylistTTL:           cfg.Cache.PlaylistTTL.D(),
		SegmentTTL:            cfg.Cache.SegmentTTL.D(),
		StaleIfError:          cfg.Cache.StaleIfError.D(),
		ConnectTimeout:        cfg.Origin.ConnectTimeout.D(),
		ResponseHeaderTimeout: cfg.Origin.ResponseHeaderTimeout.D(),
		ReadTimeout:           cfg.Origin.ReadTimeout.D(),
		FetchTimeout:          cfg.Origin.FetchTimeout.D(),
		MinRate:               int64(cfg.Origin.MinRate),
		MinRateWindow:         cfg.Origin.MinRateWindow.D(),
	})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	s.cache, d.Fetcher, d.Durations = c, c, durations
	registerDurationMetrics(reg, durations)
	registerCacheMetrics(reg, c)
	return nil
}

// httpServer is a listener's HTTP server: net/http's, or the lean one
// (internal/h1) on the plain HTTP listener.
type httpServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// listen binds addr and serves on it in the background, over TLS when tc
// is set, through wrap when it is set.
func (s *EdgeServer) listen(addr string, hs httpServer, tc *tls.Config, wrap func(net.Listener) net.Listener) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen %s: %w", addr, err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s.servers = append(s.servers, hs)
	s.goRun(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve %s: %w", addr, err)
		}
		return nil
	})
	return ln.Addr().String(), nil
}

func (s *EdgeServer) goRun(f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil {
			s.errs <- err
		}
	}()
}

func (s *EdgeServer) adminMux(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.extras.Ready != nil {
			if err := s.extras.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	if s.cfg.Admin.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Wait blocks until ctx ends or a listener fails, then shuts down.
func (s *EdgeServer) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.errs:
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops accepting requests, lets in-flight ones finish within the
// shutdown timeout, then releases everything. It is idempotent.
func (s *EdgeServer) Close() error {
	s.once.Do(func() {
		s.cfgMu.Lock()
		timeout := s.cfg.Server.ShutdownTimeout.D()
		s.cfgMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var errs []error
		for _, hs := range s.servers {
			if err := hs.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if s.h3 != nil {
			if err := s.h3.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, err)
			}
			s.h3.Close()
		}
		s.cancel()
		s.wg.Wait()
		if s.cache != nil {
			errs = append(errs, s.cache.Close())
		}
		if s.access != nil {
			errs = append(errs, s.access.Close())
		}
		if s.asn != nil {
			errs = append(errs, s.asn.Close())
		}
		if s.geo != nil {
			errs = append(errs, s.geo.Close())
		}
		if s.acme != nil {
			s.acme.Stop()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// mountPrefixes returns the mounted path prefixes but the fallback "/",
// longest first.
func mountPrefixes(m map[string]http.Handler) []string {
	prefixes := make([]string, 0, len(m))
	for p := range m {
		if p != "/" {
			prefixes = append(prefixes, p)
		}
	}
	sort.Slice(prefixes, func(i, j int) bool { return len(prefixes[i]) > len(prefixes[j]) })
	return prefixes
}

// mounted reports whether path is under one of the prefixes.
func mounted(prefixes []string, path string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// mounts sends requests under the prefixes to their handlers (longest
// prefix first), those no route claims to fallback (when not nil) and the
// rest to media.
func mounts(m map[string]http.Handler, prefixes []string, fallback http.Handler, claims func(*http.Request) bool, media http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				m[p].ServeHTTP(w, r)
				return
			}
		}
		if fallback != nil && !claims(r) {
			fallback.ServeHTTP(w, r)
			return
		}
		media.ServeHTTP(w, r)
	})
}

// PipelineConfig is the request pipeline's part of an edge's
// configuration.
func PipelineConfig(cfg *config.Edge) edge.Config {
	routes := make([]edge.Route, len(cfg.Routes))
	for i, r := range cfg.Routes {
		routes[i] = edge.Route{Prefix: r.Prefix, Origin: r.Origin, Mode: r.Mode}
	}
	auth := cfg.Mode == config.EdgeAuth
	if auth && len(routes) == 0 {
		routes = []edge.Route{{Prefix: "/"}}
	}
	return edge.Config{
		ID:             cfg.ID,
		Auth:           auth,
		AuthPathPrefix: cfg.AuthPathPrefix,
		Routes:         routes,
		TrustedProxies: cfg.TrustedProxies,
		ClientIPHeader: cfg.ClientIPHeader,
		GeoHeaders:     cfg.Geo.Source == "headers",
		CORS:           edge.CORS{AllowedOrigins: cfg.CORS.AllowedOrigins, MaxAge: cfg.CORS.MaxAge.D()},
		Status:         cfg.Status,
		ClockSkew:      cfg.ClockSkew.D(),
	}
}
