package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/detect"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/revocation"
)

// allowlist serves the API's allowlist from the smd_allowed bucket.
type allowlist struct{ s *revocation.AllowStore }

func (a allowlist) Allow(ctx context.Context, x control.Allowance, ttl time.Duration) (uint64, error) {
	return a.s.Allow(ctx, revocation.Allowance(x), ttl)
}

func (a allowlist) Disallow(ctx context.Context, id string) (bool, error) {
	return a.s.Disallow(ctx, id)
}

func (a allowlist) Get(ctx context.Context, id string) (control.Allowance, bool, error) {
	x, ok, err := a.s.Get(ctx, id)
	return control.Allowance(x), ok, err
}

func (a allowlist) List(ctx context.Context, after string, limit int) ([]control.Allowance, string, error) {
	xs, next, err := a.s.List(ctx, after, limit)
	out := make([]control.Allowance, len(xs))
	for i, x := range xs {
		out[i] = control.Allowance(x)
	}
	return out, next, err
}

func (a allowlist) HoldOff(ctx context.Context, id, by string, ttl time.Duration) (bool, error) {
	return a.s.HoldOff(ctx, id, by, ttl)
}

// detectorOption returns the option that runs the detector on the access
// stream, revoking through the same store as the API; nil when the
// detector is off or the caller attached its own consumer.
func detectorOption(cfg *config.Serve, reg prometheus.Registerer, log *slog.Logger, hook func(detect.Decision),
	started func(*detect.Detector)) Option {
	if !cfg.Detector.Enabled {
		return nil
	}
	return WithAccessConsumer(func(st *natsstore.Store) (accessstream.ConsumerConfig, error) {
		d, err := detect.New(cfg.Detector, detect.Deps{
			Revoker:    revocation.NewStore(st.JS, st.Revoked),
			Allowlist:  revocation.NewAllowStore(st.JS, st.Allowed),
			Decisions:  decisionStore{st.Decisions},
			OnDecision: hook,
			Metrics:    reg,
			Log:        log.With("part", "detector"),
		})
		if err != nil {
			return accessstream.ConsumerConfig{}, fmt.Errorf("detector: %w", err)
		}
		started(d)
		return accessstream.ConsumerConfig{
			Handler: func(_ int, ev *accesslog.Event) { d.Observe(ev) },
			// A new owner of a partition first re-reads one lookback, so
			// the sessions' features are whole again after a takeover;
			// the very first reader starts one lookback back, not with
			// the whole stream.
			Replay:    cfg.Detector.Lookback.D(),
			StartBack: cfg.Detector.Lookback.D(),
		}, nil
	})
}
