package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/fleet"
)

// heartbeats publishes the edge's heartbeat every interval until ctx
// ends; fill sets the current values. Failures are logged once per outage.
func heartbeats(ctx context.Context, kv jetstream.KeyValue, interval time.Duration, fill func(*fleet.Heartbeat), log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		h := &fleet.Heartbeat{}
		fill(h)
		h.At = time.Now().UTC()
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := fleet.Publish(pctx, kv, h)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn("heartbeat not published", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("heartbeat published again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
