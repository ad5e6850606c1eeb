package detect

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Scorer names.
const (
	// ScorerSMDE is SMDE's Athena formula (smde.go).
	ScorerSMDE = "smde"
	// ScorerConcurrency scores places and speed at the same time
	// (concurrency.go).
	ScorerConcurrency = "concurrency"
)

// Scorers lists the scorer names, in the order the detector computes them.
var Scorers = []string{ScorerSMDE, ScorerConcurrency}

// Config configures the detector: the control plane's detector: section
// (docs/detector.md). Start from DefaultConfig; Validate names the bad key.
type Config struct {
	// Enabled runs the detector in the control plane (default true; for
	// whoever builds the control plane: New does not read it).
	Enabled bool `yaml:"enabled"`
	// Scorer names the active scorer, the only one that revokes:
	// concurrency (default) or smde (SMDE's formula, which revokes two
	// devices of one home and waits min_session_duration).
	Scorer string `yaml:"scorer"`
	// Shadow names scorers computed beside the active one: their
	// would-revoke decisions are logged, counted and passed to the
	// decision hook, never enforced (default: smde).
	Shadow []string `yaml:"shadow"`
	// DryRun treats the active scorer like a shadow one: nothing is
	// revoked (default false).
	DryRun bool `yaml:"dry_run"`
	// Interval is the time between evaluations (default 2s).
	Interval Duration `yaml:"interval"`
	// Lookback is the sliding window of the per-session features, SMDE's
	// lookback_period (default 10m). It is kept in 32 buckets, so the
	// window holds between 31/32 of it and all of it.
	Lookback Duration `yaml:"lookback"`
	// MinBytes: only responses 200 and 206 of more than MinBytes bytes
	// count, as in SMDE's query (default 1024).
	MinBytes int64 `yaml:"min_bytes"`
	// MaxSessions caps the sessions tracked (default 1,000,000, about
	// 1.6 KB each: 1.6 GB at the cap); beyond it the least recently active
	// of a small sample is forgotten.
	MaxSessions int `yaml:"max_sessions"`
	// RevokeTTL is how long an automatic revocation lasts (default 7d,
	// SMDE's save_auto_session TTL).
	RevokeTTL Duration `yaml:"revoke_ttl"`
	// EndedAfter: a session without a request for this long has ended (or
	// is paused) and is not revoked (default 30s). Its score can only rise
	// with requests of its own, so one over the threshold was revoked
	// while it played; what the reference or the window does after it
	// stopped must not revoke a viewer who comes back.
	EndedAfter Duration `yaml:"ended_after"`
	// SMDE holds the parameters of the smde scorer.
	SMDE SMDEConfig `yaml:"smde"`
	// Concurrency holds the parameters of the concurrency scorer.
	Concurrency ConcurrencyConfig `yaml:"concurrency"`
}

// SMDEConfig holds the parameters of SMDE's formula, with SMDE's names and
// defaults (smde.go cites where each comes from).
type SMDEConfig struct {
	// IPRate weighs the session's request rate relative to the median
	// session's (default 1).
	IPRate float64 `yaml:"ip_rate"`
	// IPPenalty is added when the session used more than one IP
	// (default 1).
	IPPenalty float64 `yaml:"ip_penalty"`
	// RefererPenalty is added for more than one referer (default 1).
	RefererPenalty float64 `yaml:"referer_penalty"`
	// UAPenalty is added for more than one user agent (default 1).
	UAPenalty float64 `yaml:"ua_penalty"`
	// MinSessions: nothing is scored while fewer sessions are in the
	// window (default 3).
	MinSessions int `yaml:"min_sessions"`
	// MinSessionDuration: sessions whose first and last requests in the
	// window are closer are not scored (default 30s).
	MinSessionDuration Duration `yaml:"min_session_duration"`
	// ScoreThreshold: a score above it revokes (default 2.2; SMDE refuses
	// 1 or less).
	ScoreThreshold float64 `yaml:"score_threshold"`
}

// ConcurrencyConfig holds the parameters of the concurrency scorer.
type ConcurrencyConfig struct {
	// Slot is the time resolution of "at the same time" (default 1s);
	// presence is judged over the last 64 slots.
	Slot Duration `yaml:"slot"`
	// MinOverlap is how many slots each of two places must be active in,
	// within the time both are active, to count as concurrent (default 2:
	// three places are seen within three requests of each).
	MinOverlap int `yaml:"min_overlap"`
	// MinSwitches is how many times the requests must switch between two
	// places for them to count as concurrent (default 3): one handover
	// switches once, a return twice.
	MinSwitches int `yaml:"min_switches"`
	// LocationWeight is added per concurrent place beyond the first
	// (default 0.6). A place is a /24 (IPv4) or /48 (IPv6) prefix.
	LocationWeight float64 `yaml:"location_weight"`
	// CountryWeight is added per country beyond the first among the
	// concurrent places, and among the places of the spread (default 0.6).
	CountryWeight float64 `yaml:"country_weight"`
	// SpreadHold is how long a place counts as occupied after its last
	// request, for the spread: the most places occupied at once over the
	// window (default 60s). A token asked for from 20 places once every
	// 30 s occupies 20 at once; a viewer moving from network to network,
	// one or two.
	SpreadHold Duration `yaml:"spread_hold"`
	// SpreadAllowance is how many places at once the spread allows before
	// it scores (default 4: a dual-stack phone moving from home Wi-Fi to
	// mobile data shows an IPv4 and an IPv6 place on each).
	SpreadAllowance int `yaml:"spread_allowance"`
	// SpreadWeight is added per place of the spread beyond the allowance
	// (default 0.4: 7 places score 1.2).
	SpreadWeight float64 `yaml:"spread_weight"`
	// ASNAllowance is how many network operators (ASNs, known when the
	// edges have an ASN database or a CDN's header) the spread's places
	// may belong to before they score (default 3: home, mobile data and
	// an office); ASNWeight is added per operator beyond (default 0.3).
	ASNAllowance int     `yaml:"asn_allowance"`
	ASNWeight    float64 `yaml:"asn_weight"`
	// RenditionsAllowed is how many renditions one viewer (address and
	// user agent) may fetch segments of in parallel (default 2: a video
	// rendition and an audio one). A player plays one video rendition at a
	// time and switches; a restreamer pulls them all.
	RenditionsAllowed int `yaml:"renditions_allowed"`
	// RenditionWeight is added per rendition in parallel beyond the
	// allowed (default 1.2).
	RenditionWeight float64 `yaml:"rendition_weight"`
	// BufferAllowance is the most media a player fetches ahead of real
	// time, its forward buffer, whose download score is 1 (default 60s:
	// ExoPlayer keeps 50 s, dash.js 60 s of long titles, hls.js 30 s). It
	// needs the segments' media durations, which the edge learns from the
	// manifests it serves (media_ms in the access events).
	BufferAllowance Duration `yaml:"buffer_allowance"`
	// PacedAllowance is the media ahead of real time whose download score
	// is 1 for a viewer that paces its requests: a rendition fetched, in
	// each of the last three 2 s slots, at twice real time or more with
	// its link idle more than half the time (default 20s). A player
	// fills its buffer with its link busy, then fetches at real time; a
	// downloader at 4 times real time is 22 s ahead after about 7 s.
	PacedAllowance Duration `yaml:"paced_allowance"`
	// SpeedLimit is the speed, in multiples of the reference rate, whose
	// score is 1 (default 3).
	SpeedLimit float64 `yaml:"speed_limit"`
	// MinSpan is the shortest time a session's request rate is measured
	// over, so that a player filling its buffer at start is not fast
	// (default 60s).
	MinSpan Duration `yaml:"min_span"`
	// RealtimeRate is the requests per second (of more than min_bytes) of
	// one viewer playing in real time, e.g. 0.5 for 4s segments with
	// separate audio. 0 (default): the median of the sessions that have
	// played 5s.
	RealtimeRate float64 `yaml:"realtime_rate"`
	// MinSessions: speed is not scored from the median while fewer than
	// this many sessions have played 5s (default 10).
	MinSessions int `yaml:"min_sessions"`
	// Threshold: a score at or above threshold * (1 + margin) revokes
	// (default 1).
	Threshold float64 `yaml:"threshold"`
	// Margin is how far past the threshold a score must be, as a
	// fraction of it (default 0.1): a score a rounding away from the
	// threshold (three devices at exactly three times the reference)
	// never revokes, and the weights put every decisive count clear of it.
	Margin float64 `yaml:"margin"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Enabled:     true,
		Scorer:      ScorerConcurrency,
		Shadow:      []string{ScorerSMDE},
		Interval:    Duration(2 * time.Second),
		Lookback:    Duration(10 * time.Minute),
		MinBytes:    1024,
		MaxSessions: 1_000_000,
		RevokeTTL:   Duration(7 * 24 * time.Hour),
		EndedAfter:  Duration(30 * time.Second),
		SMDE: SMDEConfig{
			IPRate:             1,
			IPPenalty:          1,
			RefererPenalty:     1,
			UAPenalty:          1,
			MinSessions:        3,
			MinSessionDuration: Duration(30 * time.Second),
			ScoreThreshold:     2.2,
		},
		Concurrency: ConcurrencyConfig{
			Slot:              Duration(time.Second),
			MinOverlap:        2,
			MinSwitches:       3,
			LocationWeight:    0.6,
			CountryWeight:     0.6,
			SpreadHold:        Duration(60 * time.Second),
			SpreadAllowance:   4,
			SpreadWeight:      0.4,
			ASNAllowance:      3,
			ASNWeight:         0.3,
			RenditionsAllowed: 2,
			RenditionWeight:   1.2,
			BufferAllowance:   Duration(60 * time.Second),
			PacedAllowance:    Duration(20 * time.Second),
			SpeedLimit:        3,
			MinSpan:           Duration(30 * time.Second),
			MinSessions:       10,
			Threshold:         1,
			Margin:            0.1,
		},
	}
}

// Limits of the configuration.
const (
	maxLookback = 24 * time.Hour
	minLookback = time.Second
)

// Validate checks c; each error names its key under "detector.".
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("detector.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !slices.Contains(Scorers, c.Scorer) {
		bad("scorer", "%q is not one of %v", c.Scorer, Scorers)
	}
	for i, s := range c.Shadow {
		switch {
		case !slices.Contains(Scorers, s):
			bad(fmt.Sprintf("shadow[%d]", i), "%q is not one of %v", s, Scorers)
		case s == c.Scorer:
			bad(fmt.Sprintf("shadow[%d]", i), "%q is the active scorer", s)
		case slices.Index(c.Shadow, s) != i:
			bad(fmt.Sprintf("shadow[%d]", i), "%q is listed twice", s)
		}
	}
	if c.Interval.D() < 10*time.Millisecond {
		bad("interval", "must be at least 10ms")
	}
	if l := c.Lookback.D(); l < minLookback || l > maxLookback {
		bad("lookback", "must be from %s to %s", minLookback, maxLookback)
	}
	if c.MinBytes < 0 {
		bad("min_bytes", "must not be negative")
	}
	if c.MaxSessions < 1 {
		bad("max_sessions", "must be at least 1")
	}
	if c.RevokeTTL.D() < time.Second {
		bad("revoke_ttl", "must be at least 1s")
	}
	if c.EndedAfter.D() < c.Interval.D() || c.EndedAfter.D() > c.Lookback.D() {
		bad("ended_after", "must be from the interval to the lookback")
	}
	weight := func(key string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			bad(key, "must be a finite number >= 0")
		}
	}
	s := &c.SMDE
	weight("smde.ip_rate", s.IPRate)
	weight("smde.ip_penalty", s.IPPenalty)
	weight("smde.referer_penalty", s.RefererPenalty)
	weight("smde.ua_penalty", s.UAPenalty)
	if s.MinSessions < 1 {
		bad("smde.min_sessions", "must be at least 1")
	}
	if s.MinSessionDuration.D() < time.Second {
		bad("smde.min_session_duration", "must be at least 1s (a rate needs a time range)")
	}
	// SMDE's export_params Lambda means to refuse thresholds of 1 or less
	// (a single penalty would revoke).
	if math.IsNaN(s.ScoreThreshold) || math.IsInf(s.ScoreThreshold, 0) || s.ScoreThreshold <= 1 {
		bad("smde.score_threshold", "must be a finite number > 1")
	}
	k := &c.Concurrency
	if k.Slot.D() < time.Millisecond || k.Slot.D() > time.Minute {
		bad("concurrency.slot", "must be from 1ms to 1m")
	}
	if k.MinOverlap < 1 || k.MinOverlap > 64 {
		bad("concurrency.min_overlap", "must be from 1 to 64")
	}
	if k.MinSwitches < 1 || k.MinSwitches > 128 {
		bad("concurrency.min_switches", "must be from 1 to 128")
	}
	weight("concurrency.location_weight", k.LocationWeight)
	weight("concurrency.country_weight", k.CountryWeight)
	if k.SpreadHold.D() < time.Second || k.SpreadHold.D() > c.Lookback.D() {
		bad("concurrency.spread_hold", "must be from 1s to the lookback")
	}
	if k.SpreadAllowance < 1 || k.SpreadAllowance > maxPlaces {
		bad("concurrency.spread_allowance", "must be from 1 to %d", maxPlaces)
	}
	weight("concurrency.spread_weight", k.SpreadWeight)
	if k.ASNAllowance < 1 || k.ASNAllowance > maxPlaces {
		bad("concurrency.asn_allowance", "must be from 1 to %d", maxPlaces)
	}
	weight("concurrency.asn_weight", k.ASNWeight)
	if k.RenditionsAllowed < 1 || k.RenditionsAllowed > maxRends {
		bad("concurrency.renditions_allowed", "must be from 1 to %d", maxRends)
	}
	weight("concurrency.rendition_weight", k.RenditionWeight)
	if k.BufferAllowance.D() < time.Second || k.BufferAllowance.D() > time.Hour {
		bad("concurrency.buffer_allowance", "must be from 1s to 1h")
	}
	if k.PacedAllowance.D() < time.Second || k.PacedAllowance.D() > k.BufferAllowance.D() {
		bad("concurrency.paced_allowance", "must be from 1s to buffer_allowance")
	}
	if math.IsNaN(k.SpeedLimit) || math.IsInf(k.SpeedLimit, 0) || k.SpeedLimit <= 0 {
		bad("concurrency.speed_limit", "must be a finite number > 0")
	}
	if k.MinSpan.D() < time.Second || k.MinSpan.D() > c.Lookback.D() {
		bad("concurrency.min_span", "must be from 1s to the lookback")
	}
	weight("concurrency.realtime_rate", k.RealtimeRate)
	if k.MinSessions < 1 {
		bad("concurrency.min_sessions", "must be at least 1")
	}
	if math.IsNaN(k.Threshold) || math.IsInf(k.Threshold, 0) || k.Threshold <= 0 {
		bad("concurrency.threshold", "must be a finite number > 0")
	}
	if !(k.Margin >= 0 && k.Margin <= 1) {
		bad("concurrency.margin", "must be from 0 to 1")
	}
	return errors.Join(errs...)
}
