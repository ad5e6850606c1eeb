package edge

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the edge's Prometheus collectors.
type metrics struct {
	requests     *prometheus.CounterVec
	verify       prometheus.Histogram
	origin       prometheus.Histogram
	duration     prometheus.Histogram
	requestBytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_edge_requests_total",
			Help: "Requests answered, by route, status, verdict and reason.",
		}, []string{"route", "status", "verdict", "reason"}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "smd_edge_token_verify_seconds",
			Help:    "Time to verify a token.",
			Buckets: []float64{250e-9, 500e-9, 1e-6, 2e-6, 4e-6, 8e-6, 16e-6, 64e-6, 256e-6},
		}),
		origin: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "smd_edge_origin_fetch_seconds",
			Help:    "Time from an origin request to its response headers.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "smd_edge_request_duration_seconds",
			Help:    "Time to answer a request, to the last byte.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}),
		requestBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_edge_response_bytes_total",
			Help: "Body bytes sent to viewers.",
		}),
	}
	reg.MustRegister(m.requests, m.verify, m.origin, m.duration, m.requestBytes)
	return m
}
