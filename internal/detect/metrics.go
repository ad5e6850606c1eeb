package detect

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the detector's Prometheus metrics. Observe's counters live
// in the shards (no shared cache line on the hot path) and are summed when
// scraped.
type metrics struct {
	d           *Detector
	events      *prometheus.Desc
	sessions    *prometheus.Desc
	forgotten   *prometheus.Desc
	evaluations prometheus.Counter
	evalSeconds prometheus.Histogram
	decisions   *prometheus.CounterVec
	revocations *prometheus.CounterVec
	storeErrors prometheus.Counter
}

func newMetrics(d *Detector, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		d: d,
		events: prometheus.NewDesc("smd_detector_events_total",
			"Access events observed, by result: counted, or ignored for no_session, unproven_session (an id the token's signature does not cover), status (not 200/206), small (min_bytes or less), late (older than the lookback), invalid_session.",
			[]string{"result"}, nil),
		sessions: prometheus.NewDesc("smd_detector_sessions",
			"Sessions tracked.", nil, nil),
		forgotten: prometheus.NewDesc("smd_detector_sessions_forgotten_total",
			"Sessions forgotten, by reason: expired (no request in the lookback), evicted (max_sessions reached).",
			[]string{"reason"}, nil),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_detector_evaluations_total",
			Help: "Evaluations of every session's features.",
		}),
		evalSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "smd_detector_evaluation_seconds",
			Help:    "Time an evaluation takes.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_detector_decisions_total",
			Help: "New decisions by scorer and outcome (revoked, shadow, dry_run, allowed, already_revoked, no_revoker, failed).",
		}, []string{"scorer", "outcome"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_detector_revocations_total",
			Help: "Automatic revocations written, by scorer.",
		}, []string{"scorer"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_detector_decision_store_errors_total",
			Help: "Decisions that could not be stored in smd_decisions (the decision itself stands).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m, m.evaluations, m.evalSeconds, m.decisions, m.revocations, m.storeErrors} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}

// Describe implements prometheus.Collector for the shard counters.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.events
	ch <- m.sessions
	ch <- m.forgotten
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	var counted, noSession, unproven, status, small, late, invalid, evicted, expired uint64
	for i := range m.d.shards {
		sh := &m.d.shards[i]
		counted += sh.counted.Load()
		noSession += sh.noSession.Load()
		unproven += sh.unproven.Load()
		status += sh.status.Load()
		small += sh.small.Load()
		late += sh.late.Load()
		invalid += sh.invalid.Load()
		evicted += sh.evicted.Load()
		expired += sh.expired.Load()
	}
	for _, e := range []struct {
		v uint64
		l string
	}{{counted, "counted"}, {noSession, "no_session"}, {unproven, "unproven_session"}, {status, "status"}, {small, "small"}, {late, "late"}, {invalid, "invalid_session"}} {
		ch <- prometheus.MustNewConstMetric(m.events, prometheus.CounterValue, float64(e.v), e.l)
	}
	ch <- prometheus.MustNewConstMetric(m.sessions, prometheus.GaugeValue, float64(m.d.Tracked()))
	ch <- prometheus.MustNewConstMetric(m.forgotten, prometheus.CounterValue, float64(expired), "expired")
	ch <- prometheus.MustNewConstMetric(m.forgotten, prometheus.CounterValue, float64(evicted), "evicted")
}

func (m *metrics) evaluated(_ int, took time.Duration) {
	m.evaluations.Inc()
	m.evalSeconds.Observe(took.Seconds())
}

func (m *metrics) decided(dec Decision) {
	m.decisions.WithLabelValues(dec.Scorer, dec.Outcome).Inc()
	if dec.Outcome == OutcomeRevoked {
		m.revocations.WithLabelValues(dec.Scorer).Inc()
	}
}
