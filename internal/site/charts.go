package site

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The dashboard's live charts: the edge's metrics read once a second, the
// last chartPoints seconds kept, rates computed between neighbours.

const (
	chartPoints = 300
	chartEvery  = time.Second
)

// sample is the edge's counters at one time.
type sample struct {
	t time.Time
	// requests by verdict, or by reason for rejections.
	requests                 map[string]float64
	hits, lookups            float64
	originFetches, originErr float64
	originSum, originCount   float64
	verifySum, verifyCount   float64
}

// charts samples a registry.
type charts struct {
	g       prometheus.Gatherer
	mu      sync.Mutex
	samples []sample
}

func newCharts(g prometheus.Gatherer) *charts { return &charts{g: g} }

func (c *charts) run(done <-chan struct{}) {
	if c.g == nil {
		return
	}
	t := time.NewTicker(chartEvery)
	defer t.Stop()
	c.take(time.Now())
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			c.take(now)
		}
	}
}

// take reads the registry once.
func (c *charts) take(now time.Time) {
	mfs, err := c.g.Gather()
	if err != nil {
		return
	}
	s := sample{t: now, requests: map[string]float64{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "smd_edge_requests_total":
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				// Refusals by their reason (expired, binding_mismatch,
				// ...), the rest by verdict (allow, revoked, ...).
				key := labels["verdict"]
				if (key == "deny" || key == "rejected") && labels["reason"] != "" {
					key = labels["reason"]
				}
				s.requests[key] += m.GetCounter().GetValue()
			case "smd_edge_cache_hits_total":
				s.hits += m.GetCounter().GetValue()
				s.lookups += m.GetCounter().GetValue()
			case "smd_edge_cache_misses_total", "smd_edge_cache_coalesced_total":
				s.lookups += m.GetCounter().GetValue()
			case "smd_edge_origin_fetches_total":
				s.originFetches += m.GetCounter().GetValue()
			case "smd_edge_origin_errors_total":
				s.originErr += m.GetCounter().GetValue()
			case "smd_edge_origin_fetch_seconds":
				s.originSum += m.GetHistogram().GetSampleSum()
				s.originCount += float64(m.GetHistogram().GetSampleCount())
			case "smd_edge_token_verify_seconds":
				s.verifySum += m.GetHistogram().GetSampleSum()
				s.verifyCount += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	c.mu.Lock()
	c.samples = append(c.samples, s)
	if len(c.samples) > chartPoints+1 {
		c.samples = append(c.samples[:0], c.samples[len(c.samples)-chartPoints-1:]...)
	}
	c.mu.Unlock()
}

// series is the answer of GET /dashboard/api/metrics: one value per
// second for each chart, null where there is nothing to divide.
type series struct {
	// T is the end of each second, in unix seconds.
	T []int64 `json:"t"`
	// Requests is requests per second by verdict ("allow", "revoked",
	// "unchecked", "log_deny") or, for refusals, by reason ("expired",
	// "binding_mismatch", "no_route", ...).
	Requests map[string][]float64 `json:"requests"`
	// CacheHitRatio is hits over lookups, 0 to 1.
	CacheHitRatio []*float64 `json:"cache_hit_ratio"`
	// OriginRPS and OriginErrorsPS are origin requests and failures per second.
	OriginRPS      []float64 `json:"origin_rps"`
	OriginErrorsPS []float64 `json:"origin_errors_ps"`
	// OriginMS is the mean time to the origin's response headers.
	OriginMS []*float64 `json:"origin_ms"`
	// VerifyUS is the mean token verification time, in microseconds.
	VerifyUS []*float64 `json:"verify_us"`
}

func (c *charts) series() series {
	c.mu.Lock()
	ss := append([]sample(nil), c.samples...)
	c.mu.Unlock()
	out := series{T: []int64{}, Requests: map[string][]float64{}, CacheHitRatio: []*float64{}, OriginRPS: []float64{},
		OriginErrorsPS: []float64{}, OriginMS: []*float64{}, VerifyUS: []*float64{}}
	keys := map[string]bool{}
	for _, s := range ss {
		for k := range s.requests {
			keys[k] = true
		}
	}
	for k := range keys {
		out.Requests[k] = []float64{}
	}
	ratio := func(num, den, scale float64) *float64 {
		if den <= 0 {
			return nil
		}
		v := num / den * scale
		return &v
	}
	for i := 1; i < len(ss); i++ {
		a, b := ss[i-1], ss[i]
		dt := b.t.Sub(a.t).Seconds()
		if dt <= 0 {
			continue
		}
		out.T = append(out.T, b.t.Unix())
		for k := range keys {
			out.Requests[k] = append(out.Requests[k], max(0, b.requests[k]-a.requests[k])/dt)
		}
		out.CacheHitRatio = append(out.CacheHitRatio, ratio(b.hits-a.hits, b.lookups-a.lookups, 1))
		out.OriginRPS = append(out.OriginRPS, max(0, b.originFetches-a.originFetches)/dt)
		out.OriginErrorsPS = append(out.OriginErrorsPS, max(0, b.originErr-a.originErr)/dt)
		out.OriginMS = append(out.OriginMS, ratio(b.originSum-a.originSum, b.originCount-a.originCount, 1e3))
		out.VerifyUS = append(out.VerifyUS, ratio(b.verifySum-a.verifySum, b.verifyCount-a.verifyCount, 1e6))
	}
	return out
}

func (s *Site) metrics(w http.ResponseWriter) {
	if s.cfg.Metrics == nil {
		writeError(w, http.StatusServiceUnavailable, "metrics_off", "no edge metrics are configured for the dashboard")
		return
	}
	writeJSON(w, http.StatusOK, s.charts.series())
}
