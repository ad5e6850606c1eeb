package rotation

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/keyring"
)

// metrics are the rotator's Prometheus metrics.
type metrics struct {
	rotations   *prometheus.CounterVec
	errors      prometheus.Counter
	phase       *prometheus.GaugeVec
	primaryAge  prometheus.Gauge
	lacking     prometheus.Gauge
	leader      prometheus.Gauge
	verifyingNo prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_keys_rotations_total",
			Help: "Key rotations completed by this process as leader, by result: ok (every live edge held the key) or grace_timeout.",
		}, []string{"result"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_keys_rotation_errors_total",
			Help: "Rotation steps that failed (NATS unreachable, invalid ring); the leader retries.",
		}),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "smd_keys_rotation_phase",
			Help: "1 for the rotation's current phase (idle, distributing), 0 for the others.",
		}, []string{"phase"}),
		primaryAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smd_keys_primary_age_seconds",
			Help: "Time since the primary key started signing.",
		}),
		lacking: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smd_keys_edges_lacking_next",
			Help: "Live edges that have not reported the next key (0 when no rotation is under way).",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smd_keys_rotation_leader",
			Help: "1 when this process holds the rotation lease.",
		}),
		verifyingNo: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smd_keys_verifying",
			Help: "Keys that edges accept (next, primary and secondaries).",
		}),
	}
	for _, p := range []keyring.Phase{keyring.PhaseIdle, keyring.PhaseDistributing} {
		m.phase.WithLabelValues(string(p))
	}
	for _, r := range []string{resultOK, resultGraceTimeout} {
		m.rotations.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rotations, m.errors, m.phase, m.primaryAge, m.lacking, m.leader, m.verifyingNo} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("rotation: metrics already registered: one Rotator per registry")
			}
			return nil, err
		}
	}
	return m, nil
}
