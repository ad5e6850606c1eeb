package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smd-media/smd/internal/accessexport"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/accessupload"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/detect"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/reqsign"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/internal/seal"
	"github.com/smd-media/smd/internal/site"
	"github.com/smd-media/smd/token"
)

// Node is a running smd process: some of edge, control plane and embedded
// NATS server.
type Node struct {
	// Edge is the edge's server (nil without an edge role).
	Edge *EdgeServer
	// APIAddr is the control API's own listener ("" when none).
	APIAddr string
	// NATSAddr is the embedded NATS server's client address ("" when none
	// or in-process only).
	NATSAddr string
	// AdminAddr is the admin listener of smd control (metrics, health);
	// an edge's is Edge.AdminAddr.
	AdminAddr string
	// Registry holds the process's metrics (smd serve and smd control).
	Registry *prometheus.Registry
	// APIHandler is the API as the edge mounts it at /v1/ (nil when the
	// edge forwards none): smd demo's dashboard calls it.
	APIHandler http.Handler
	// EdgeKeys are the keys the edge verifies with (nil without an edge):
	// smd demo's page backend proves a viewer's session with them.
	EdgeKeys token.KeyRing

	log    *slog.Logger
	conn   *conn
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
	once   sync.Once
	closes []func() error

	// serveCfg is smd serve's or smd control's configuration (Reload,
	// under reloadMu).
	serveCfg *config.Serve
	reloadMu sync.Mutex

	// revoked is the edge's revocation set (tests read it).
	revoked interface{ Revoked(string) bool }

	storeMu sync.Mutex
	store   *natsstore.Store
	opened  chan struct{}

	// The access stream's parts (nil when off).
	publisher *accessstream.Publisher
	consumer  *accessstream.Consumer
	exporter  *accessexport.Exporter
	uploader  *accessupload.Uploader
	detector  *detect.Detector // guarded by storeMu
}

func newNode(ctx context.Context, log *slog.Logger) (*Node, context.Context) {
	n := &Node{log: log, errs: make(chan error, 8), opened: make(chan struct{})}
	ctx, n.cancel = context.WithCancel(ctx)
	return n, ctx
}

// run runs f in the background; an error from it stops the node.
func (n *Node) run(f func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := f(); err != nil {
			select {
			case n.errs <- err:
			default:
			}
		}
	}()
}

// Store returns the opened store, waiting for NATS if need be.
func (n *Node) Store(ctx context.Context) (*natsstore.Store, error) {
	select {
	case <-n.opened:
		n.storeMu.Lock()
		defer n.storeMu.Unlock()
		return n.store, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// openInBackground opens the buckets (retrying while NATS is away) and
// hands the store to each of then.
func (n *Node) openInBackground(ctx context.Context, then ...func(*natsstore.Store)) {
	n.run(func() error {
		st, err := n.conn.open(ctx, n.log)
		if err != nil {
			return nil // ctx ended
		}
		n.storeMu.Lock()
		n.store = st
		n.storeMu.Unlock()
		close(n.opened)
		for _, f := range then {
			f(st)
		}
		return nil
	})
}

// Wait blocks until ctx ends or a part fails, then closes the node.
func (n *Node) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-n.errs:
	}
	if cerr := n.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops everything, the edge's listeners first and NATS last.
func (n *Node) Close() error {
	var errs []error
	n.once.Do(func() {
		if n.Edge != nil {
			errs = append(errs, n.Edge.Close())
		}
		for i := len(n.closes) - 1; i >= 0; i-- {
			errs = append(errs, n.closes[i]())
		}
		n.cancel()
		n.wg.Wait()
		if n.conn != nil {
			n.conn.close()
		}
	})
	return errors.Join(errs...)
}

// newRegistry returns a metrics registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// masterKey loads the master key: SMD_MASTER_KEY, else the configured
// file, else <data_dir>/master.key; create makes the file when absent.
func masterKey(cfg *config.Edge, create bool, log *slog.Logger) (*seal.Key, error) {
	path := cfg.MasterKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "master.key")
	}
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
	}
	k, from, err := seal.Load(path, os.LookupEnv, create)
	if err != nil {
		return nil, err
	}
	log.Info("master key loaded", "from", from, "id", k.ID())
	return k, nil
}

// StartEdge runs `smd edge` against external NATS: it serves at once (from
// its snapshots when NATS is away) and follows NATS when it answers.
func StartEdge(ctx context.Context, cfg *config.Edge, version string, log *slog.Logger) (*Node, error) {
	n, ctx := newNode(ctx, log)
	mk, err := masterKey(cfg, false, log)
	if err != nil {
		return nil, err
	}
	if n.conn, err = dial(cfg, false, "", "smd-edge-"+cfg.ID, true, log); err != nil {
		return nil, err
	}
	var mount map[string]http.Handler
	if p, err := apiProxy(cfg.API); err != nil {
		n.Close()
		return nil, err
	} else if p != nil {
		mount = map[string]http.Handler{"/v1/": p}
		n.APIHandler = p
	}
	reg := newRegistry()
	if err := n.mountDashboard(cfg, mount, reg, log); err != nil {
		n.Close()
		return nil, err
	}
	e, opened, err := startEdge(ctx, cfg, mk, mount, n.conn.nc, nil, reg, version, log, n.run)
	if err != nil {
		n.Close()
		return nil, err
	}
	n.Edge, n.EdgeKeys, n.revoked, n.publisher = e.srv, e.keys, e.revoked, e.publisher
	n.openInBackground(ctx, opened)
	return n, nil
}

// StartServe runs `smd serve`: an embedded NATS server, the control plane
// and an edge that also serves the API under /v1/.
func StartServe(ctx context.Context, cfg *config.Serve, version string, log *slog.Logger, opts ...Option) (*Node, error) {
	return start(ctx, cfg, true, version, log, opts...)
}

// StartControl runs `smd control`: the control plane against external
// NATS; the API on control.listen.
func StartControl(ctx context.Context, cfg *config.Serve, version string, log *slog.Logger, opts ...Option) (*Node, error) {
	return start(ctx, cfg, false, version, log, opts...)
}

func start(ctx context.Context, cfg *config.Serve, embedded bool, version string, log *slog.Logger, opts ...Option) (_ *Node, err error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	n, ctx := newNode(ctx, log)
	defer func() {
		if err != nil {
			n.Close() // the named result is nil by now; n is not
		}
	}()
	n.serveCfg = cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	mk, err := masterKey(&cfg.Edge, embedded, log)
	if err != nil {
		return nil, err
	}
	role := "smd-control-"
	if embedded {
		role = "smd-serve-"
	}
	if n.conn, err = dial(&cfg.Edge, embedded, cfg.EmbeddedNATS.Listen, role+cfg.ID, false, log); err != nil {
		return nil, err
	}
	if n.conn.srv != nil && cfg.EmbeddedNATS.Listen != "" {
		n.NATSAddr = n.conn.srv.Addr().String()
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	st, err := n.conn.open(octx, log)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	n.store = st
	close(n.opened)
	reg := newRegistry()
	n.Registry = reg
	// smd serve: one revocation watcher for the edge and the API's index.
	var revoked *revocation.Watcher
	if embedded {
		revoked = newRevokedWatcher(&cfg.Edge, log)
	}
	c, err := startControl(ctx, cfg, st, mk, embedded, revoked, reg, log, n.run)
	if err != nil {
		return nil, err
	}
	if o.consumer == nil {
		if opt := detectorOption(cfg, reg, log, o.onDecision, func(d *detect.Detector) {
			n.storeMu.Lock()
			n.detector = d
			n.storeMu.Unlock()
			n.run(func() error { return d.Run(ctx) })
			n.run(func() error { return answerInspections(ctx, st.NC, d, log.With("part", "detector")) })
			log.Info("detector: started", "scorer", cfg.Detector.Scorer, "shadow", cfg.Detector.Shadow, "dry_run", cfg.Detector.DryRun,
				"lookback", cfg.Detector.Lookback.D().String(), "interval", cfg.Detector.Interval.D().String())
		}); opt != nil {
			opt(&o)
		}
	}
	if err := n.startAccessReaders(ctx, cfg, st, &o, reg, log); err != nil {
		return nil, err
	}
	listen := cfg.Control.Listen
	signing := embedded && cfg.Control.RequestSigning.Enabled
	if signing && listen == "" {
		// The edge forwards /v1/ to the API's own listener, signed.
		listen = "127.0.0.1:0"
	}
	if listen != "" {
		if n.APIAddr, err = serveAPI(ctx, listen, c.api, n.run); err != nil {
			return nil, err
		}
	}
	if !embedded {
		if cfg.Admin.Listen != "" {
			if n.AdminAddr, err = serveAdmin(ctx, cfg.Admin.Listen, cfg.Admin.Pprof, reg, n.conn.nc, n.run); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	// The edge serves the API under /v1/: in the process, or, when the
	// API wants signed requests, through the signing proxy to the API's
	// own listener, as an edge of its own would.
	mount := map[string]http.Handler{"/v1/": c.api}
	if signing {
		rs := cfg.Control.RequestSigning
		secret, err := readSecret(rs.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("control.request_signing.secret_file: %w", err)
		}
		mount["/v1/"] = reqsign.NewProxy(&url.URL{Scheme: "http", Host: LoopbackAddr(n.APIAddr)}, rs.KeyID, secret)
	}
	for p, h := range o.mount {
		mount[p] = h
	}
	n.APIHandler = mount["/v1/"]
	if err := n.mountDashboard(&cfg.Edge, mount, reg, log); err != nil {
		return nil, err
	}
	e, opened, err := startEdge(ctx, &cfg.Edge, mk, mount, n.conn.nc, revoked, reg, version, log, n.run)
	if err != nil {
		return nil, err
	}
	n.Edge, n.EdgeKeys, n.revoked, n.publisher = e.srv, e.keys, e.revoked, e.publisher
	opened(st)
	// NATS is in the process and the ring exists (startControl made
	// sure): return once the edge holds it and the revoked set, so that a
	// token the API issues the moment smd serve is up plays at once.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, ready := range []<-chan struct{}{e.keys.Ready(), e.revoked.Ready()} {
		select {
		case <-ready:
		case <-wctx.Done():
			return nil, fmt.Errorf("edge: key ring or revoked sessions not loaded from the embedded NATS: %w", wctx.Err())
		}
	}
	return n, nil
}

// LoopbackAddr is a listener's address with an unspecified host (a
// wildcard listener) replaced by 127.0.0.1, to dial it from this machine.
func LoopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// mountDashboard mounts the operator's dashboard at /dashboard/ when
// dashboard.enabled: it calls the API through the edge's /v1/ mount, in
// the process, and charts the edge's metrics.
func (n *Node) mountDashboard(cfg *config.Edge, mount map[string]http.Handler, reg *prometheus.Registry, log *slog.Logger) error {
	if !cfg.Dashboard.Enabled {
		return nil
	}
	api := mount["/v1/"]
	if api == nil {
		return errors.New("dashboard.enabled: the edge forwards no /v1/ to an API (api.url)")
	}
	s, err := site.New(site.Config{APIHandler: api, Metrics: reg, SessionTTL: cfg.Dashboard.SessionTTL.D(), Log: log.With("part", "dashboard")})
	if err != nil {
		return err
	}
	mount["/dashboard/"] = s
	n.closes = append(n.closes, func() error { s.Close(); return nil })
	return nil
}
