package control

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus metrics.
type metrics struct {
	requests          *prometheus.CounterVec
	tokens            prometheus.Counter
	revocations       *prometheus.CounterVec
	rateLimited       prometheus.Counter
	authFailures      prometheus.Counter
	signatureRejected *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_control_requests_total",
			Help: "API requests by route pattern and status code.",
		}, []string{"route", "status"}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_control_tokens_issued_total",
			Help: "Tokens issued by GET /v1/token.",
		}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_control_revocations_total",
			Help: "Manual revocations and allowlistings through the API, by action (revoke, unrevoke, allow, disallow).",
		}, []string{"action"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_control_rate_limited_total",
			Help: "Public token requests refused with 429.",
		}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "smd_control_auth_failures_total",
			Help: "Requests with a malformed, unknown or wrong API key.",
		}),
		signatureRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_control_signature_rejected_total",
			Help: "Requests refused for their request signature, by reason.",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.tokens, m.revocations, m.rateLimited, m.authFailures, m.signatureRejected} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap counts requests by the route pattern the router matched
// ("unmatched" when it matched none, e.g. a refused signature).
func (m *metrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
	})
}
