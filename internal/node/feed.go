package node

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/edge"
	"github.com/smd-media/smd/token"
)

// Feed connects a pipeline that runs inside another server (the Caddy
// module) to the control plane, as `smd edge --nats` is connected: the key
// ring and the revoked sessions follow NATS (starting from the snapshots
// in data_dir while NATS is away), the access events go to the access
// stream (spooled to disk while NATS is away), and heartbeats report the
// pipeline in the edges bucket.
type Feed struct {
	node *Node
	role *edgeRole
}

// StartEdgeFeed connects to NATS with an edge's configuration (its nats,
// data_dir, master_key_file, access_stream and id keys; validated) and
// starts following the control plane. counts, when set, gives the
// pipeline's request counts for the heartbeats. It returns at once: the
// feed serves from its snapshots until NATS answers.
func StartEdgeFeed(ctx context.Context, cfg *config.Edge, version string, counts func() (requests, rejected uint64), log *slog.Logger) (*Feed, error) {
	n, ctx := newNode(ctx, log)
	mk, err := masterKey(cfg, false, log)
	if err != nil {
		return nil, err
	}
	if n.conn, err = dial(cfg, false, "", "smd-edge-"+cfg.ID, true, log); err != nil {
		return nil, err
	}
	// The feed's metrics have no listener to be served on (the module's
	// server has its own): a registry of their own keeps them apart.
	e, opened, err := startFeed(ctx, cfg, mk, n.conn.nc, nil, prometheus.NewRegistry(), version, log, n.run)
	if err != nil {
		n.Close()
		return nil, err
	}
	if counts != nil {
		e.counts = counts
	}
	n.EdgeKeys, n.revoked, n.publisher = e.keys, e.revoked, e.publisher
	n.openInBackground(ctx, opened)
	return &Feed{node: n, role: e}, nil
}

// Keys is the key ring, kept up to date from NATS.
func (f *Feed) Keys() token.KeyRing { return f.role.keys }

// Revocations is the revoked set, kept up to date from NATS.
func (f *Feed) Revocations() edge.Revocations { return f.role.revoked }

// Access takes the access events to the stream; nil when the access
// stream is off.
func (f *Feed) Access() edge.AccessLogger {
	if f.role.publisher == nil {
		return nil
	}
	return f.role.publisher
}

// Close stops following NATS, writes out the spooled access events, and
// closes the connection.
func (f *Feed) Close() error { return f.node.Close() }
