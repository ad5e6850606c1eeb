package simulate

import (
	"math"
	"slices"
	"time"
)

// Latency summarizes durations: how many, their median, 95th percentile
// and maximum, in seconds. Percentiles are nearest-rank: the p-th
// percentile of n sorted values is the ceil(p/100*n)-th, a value that
// occurred. With no value, all are zero.
type Latency struct {
	N       int     `json:"n"`
	MedianS float64 `json:"median_s"`
	P95S    float64 `json:"p95_s"`
	MaxS    float64 `json:"max_s"`
}

// summarize computes the Latency of ds.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Latency{
		N:       len(s),
		MedianS: percentile(s, 50).Seconds(),
		P95S:    percentile(s, 95).Seconds(),
		MaxS:    s[len(s)-1].Seconds(),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
