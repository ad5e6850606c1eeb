package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/edge"
	"github.com/smd-media/smd/internal/fleet"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/internal/seal"
)

// Snapshot file names in the data directory.
const (
	keysSnapshot    = "keys.snapshot.json"
	revokedSnapshot = "revoked.snapshot"
)

// edgeRole is an edge fed from NATS: key ring and revoked sessions from KV
// watches (and local snapshots), heartbeats to the edges bucket. srv is
// nil when the pipeline runs in another server (StartEdgeFeed).
type edgeRole struct {
	cfg     *config.Edge
	keys    *keyring.Watcher
	revoked *revocation.Watcher
	srv     *EdgeServer
	started time.Time
	// publisher sends the access events to the stream (nil when off).
	publisher *accessstream.Publisher
	// counts are the pipeline's request counts, for the heartbeats.
	counts func() (requests, rejected uint64)
}

// startEdge starts the edge's listeners at once, serving from the
// snapshots (if any) until NATS answers; stores delivers the opened store
// when it does, and the watches and heartbeats start then.
// revoked is the edge's revocation watcher when the caller made it (smd
// serve shares it with its control plane's index); nil makes one.
func startEdge(ctx context.Context, cfg *config.Edge, mk *seal.Key, mount map[string]http.Handler, nc *nats.Conn, revoked *revocation.Watcher,
	reg *prometheus.Registry, version string, log *slog.Logger, run func(func() error)) (*edgeRole, func(*natsstore.Store), error) {
	e, opened, err := startFeed(ctx, cfg, mk, nc, revoked, reg, version, log, run)
	if err != nil {
		return nil, nil, err
	}
	var access edge.AccessLogger
	if e.publisher != nil {
		access = e.publisher
	}
	e.srv, err = StartEdgeServer(ctx, cfg, log, EdgeExtras{
		Access:   access,
		Keys:     e.keys,
		KeyCount: func() int { return len(e.keys.KeyIDs()) },
		Revoked:  e.revoked,
		Mount:    mount,
		Registry: reg,
		Ready:    e.ready,
	})
	if err != nil {
		return nil, nil, err
	}
	e.counts = e.srv.Edge.Counts
	return e, opened, nil
}

// startFeed makes what an edge takes from NATS: the key ring and the
// revoked set (from their snapshots until NATS answers), their metrics,
// and the access stream's publisher; opened starts the watches and the
// heartbeats once the store is open.
func startFeed(ctx context.Context, cfg *config.Edge, mk *seal.Key, nc *nats.Conn, revoked *revocation.Watcher,
	reg *prometheus.Registry, version string, log *slog.Logger, run func(func() error)) (*edgeRole, func(*natsstore.Store), error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data_dir: %w", err)
	}
	e := &edgeRole{cfg: cfg, started: time.Now().UTC(), counts: func() (uint64, uint64) { return 0, 0 }}
	var err error
	e.keys, err = keyring.NewWatcher(keyring.WatcherConfig{
		MasterKey: mk, Snapshot: filepath.Join(cfg.DataDir, keysSnapshot), Log: log.With("part", "keys"),
	})
	if err != nil {
		return nil, nil, err
	}
	if err := e.keys.LoadSnapshot(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("key ring snapshot not usable; waiting for NATS", "err", err)
	}
	e.revoked = revoked
	if e.revoked == nil {
		e.revoked = newRevokedWatcher(cfg, log)
	}
	// What the edge holds, against the control plane's current revisions
	// (smd_keys_ring_revision, smd_control_revoked_revision): the
	// alerting rules compare them (deploy/prometheus).
	snapshot := func() float64 {
		if e.keys.FromSnapshot() || e.revoked.FromSnapshot() {
			return 1
		}
		return 0
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_keys_revision", Help: "Revision of the key ring (smd_keys) this edge holds."},
			func() float64 { return float64(e.keys.Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_revoked_revision", Help: "Revision of the revoked sessions (smd_revoked) this edge holds."},
			func() float64 { return float64(e.revoked.Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_snapshot", Help: "1 while the edge serves from a local snapshot (NATS away or not caught up), else 0."}, snapshot),
	)
	// Access events: published from the start, spooled until NATS answers.
	if e.publisher, err = startPublisher(ctx, cfg, nc, reg, log, run); err != nil {
		return nil, nil, err
	}
	opened := func(st *natsstore.Store) {
		run(func() error { return e.keys.Run(ctx, st.Keys) })
		run(func() error { return e.revoked.Run(ctx, st.Revoked) })
		run(func() error {
			heartbeats(ctx, st.Edges, cfg.NATS.Heartbeat.D(), func(h *fleet.Heartbeat) { e.heartbeat(h, version) }, log)
			return nil
		})
	}
	return e, opened, nil
}

// newRevokedWatcher makes an edge's revocation watcher and loads its
// snapshot, if any; the edge runs it once NATS answers.
func newRevokedWatcher(cfg *config.Edge, log *slog.Logger) *revocation.Watcher {
	w := revocation.NewWatcher(revocation.WatcherConfig{
		Snapshot: filepath.Join(cfg.DataDir, revokedSnapshot), Log: log.With("part", "revoked"),
	})
	if err := w.LoadSnapshot(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("revocation snapshot not usable; waiting for NATS", "err", err)
	}
	return w
}

// ready is the edge's readiness: it needs a key ring (from NATS or its
// snapshot) and a revoked set (idem).
func (e *edgeRole) ready() error {
	select {
	case <-e.keys.Ready():
	default:
		return errors.New("no key ring yet (NATS unreachable and no snapshot)")
	}
	select {
	case <-e.revoked.Ready():
	default:
		return errors.New("no revoked sessions yet (NATS unreachable and no snapshot)")
	}
	return nil
}

// heartbeat fills h with the edge's state.
func (e *edgeRole) heartbeat(h *fleet.Heartbeat, version string) {
	req, rej := e.counts()
	*h = fleet.Heartbeat{
		EdgeID:          e.cfg.ID,
		Version:         version,
		Started:         e.started,
		KeysRevision:    e.keys.Revision(),
		KeyIDs:          e.keys.KeyIDs(),
		RevokedRevision: e.revoked.Revision(),
		Revoked:         e.revoked.Len(),
		FromSnapshot:    e.keys.FromSnapshot() || e.revoked.FromSnapshot(),
		Requests:        req,
		Rejected:        rej,
	}
}
