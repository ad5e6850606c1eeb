package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/natsstore"
)

// conn is a NATS connection, to the embedded server or to external ones.
type conn struct {
	nc     *nats.Conn
	srv    *server.Server // nil for external NATS
	limits natsstore.Limits
}

// dial starts the embedded NATS server (embedded) or connects to the
// configured URLs. With retry, an unreachable NATS is not an error: the
// connection keeps trying in the background.
func dial(cfg *config.Edge, embedded bool, embeddedListen, name string, retry bool, log *slog.Logger) (*conn, error) {
	c := &conn{limits: natsstore.Limits{Replicas: cfg.NATS.Replicas, EdgeTTL: 6 * cfg.NATS.Heartbeat.D()}}
	if embedded {
		srv, err := natsstore.StartEmbedded(natsstore.EmbeddedConfig{
			DataDir: filepath.Join(cfg.DataDir, "nats"),
			Name:    "smd-" + cfg.ID,
			Listen:  embeddedListen,
		})
		if err != nil {
			return nil, err
		}
		nc, err := natsstore.ConnectEmbedded(srv, name)
		if err != nil {
			srv.Shutdown()
			return nil, err
		}
		c.nc, c.srv = nc, srv
		return c, nil
	}
	n := cfg.NATS
	nc, err := natsstore.Connect(natsstore.ConnConfig{
		URLs: n.URLs, Name: name, CredsFile: n.CredsFile, NKeySeedFile: n.NKeyFile,
		User: n.User, Password: n.Password, Token: n.Token,
		CAFile: n.CAFile, CertFile: n.CertFile, KeyFile: n.KeyFile, Log: log, RetryFirst: retry,
	})
	if err != nil {
		return nil, err
	}
	c.nc = nc
	return c, nil
}

// open opens smd's buckets and stream, retrying until ctx ends while NATS
// is unreachable; it logs the first failure.
func (c *conn) open(ctx context.Context, log *slog.Logger) (*natsstore.Store, error) {
	wait := 250 * time.Millisecond
	for logged := false; ; {
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := natsstore.Open(octx, c.nc, c.limits)
		cancel()
		if err == nil {
			if logged {
				log.Info("nats: buckets open")
			}
			return st, nil
		}
		if !logged {
			log.Warn("nats: cannot open the buckets yet; retrying", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// close closes the connection, then the embedded server.
func (c *conn) close() {
	c.nc.Close()
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
}
