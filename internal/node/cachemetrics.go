package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/internal/mediatime"
)

// registerCacheMetrics exposes the cache's counters, read at scrape time.
func registerCacheMetrics(reg prometheus.Registerer, c *cache.Cache) {
	counter := func(name, help string, get func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(get(c.Stats())) })
	}
	gauge := func(name, help string, get func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(get(c.Stats())) })
	}
	reg.MustRegister(
		counter("smd_edge_cache_hits_total", "Requests answered from a fresh cached object.", func(s cache.Stats) int64 { return s.Hits }),
		counter("smd_edge_cache_misses_total", "Requests that started an origin fetch.", func(s cache.Stats) int64 { return s.Misses }),
		counter("smd_edge_cache_coalesced_total", "Requests that joined another request's origin fetch.", func(s cache.Stats) int64 { return s.Coalesced }),
		counter("smd_edge_cache_stale_served_total", "Requests answered with a stale object while the origin failed.", func(s cache.Stats) int64 { return s.StaleServed }),
		counter("smd_edge_cache_passthroughs_total", "Requests answered from an origin response that was not stored.", func(s cache.Stats) int64 { return s.Passthroughs }),
		counter("smd_edge_cache_evictions_total", "Objects dropped to make room.", func(s cache.Stats) int64 { return s.Evictions }),
		counter("smd_edge_origin_fetches_total", "Origin requests made.", func(s cache.Stats) int64 { return s.OriginFetches }),
		counter("smd_edge_origin_errors_total", "Origin requests that failed or answered 5xx.", func(s cache.Stats) int64 { return s.OriginErrors }),
		counter("smd_edge_origin_bytes_total", "Body bytes read from origins.", func(s cache.Stats) int64 { return s.OriginBytes }),
		gauge("smd_edge_cache_objects", "Objects in the cache.", func(s cache.Stats) int64 { return s.Objects }),
		gauge("smd_edge_cache_bytes", "Memory held by cached objects.", func(s cache.Stats) int64 { return s.BytesHeld }),
	)
}

// registerDurationMetrics registers the metrics of the segment durations
// learned from manifests.
func registerDurationMetrics(reg prometheus.Registerer, d *mediatime.Durations) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_edge_media_renditions",
			Help: "Renditions whose segment duration the edge learned from the manifests it served."},
			func() float64 { return float64(d.Len()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_edge_media_manifests_read_total",
			Help: "Manifests fetched from origins and read for segment durations."},
			func() float64 { return float64(d.Learned.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_edge_media_manifests_refused_total",
			Help: "Manifests fetched from origins that did not parse (no durations learned from them)."},
			func() float64 { return float64(d.Refused.Load()) }),
	)
}
