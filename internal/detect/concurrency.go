package detect

// concurrencyScorer looks for what a shared or restreamed token does and
// a viewer does not: play from several places at the same time, from
// many places over the window, pull several renditions at once, or fetch
// far faster than real time. It does not count what a viewer does:
// change network (Wi-Fi to mobile data: places one after the other),
// come back, pause, switch rendition, or watch on several devices at
// home (one /24 or /48 prefix, one place; each device its own speed).
//
//	presence   = location_weight * (places - 1) + country_weight * (countries - 1)
//	spread     = spread_weight * max(spread - spread_allowance, 0) + country_weight * (spread countries - 1)
//	             + asn_weight * max(spread ASNs - asn_allowance, 0)
//	renditions = rendition_weight * max(renditions - renditions_allowed, 0)
//	download   = max(ahead / buffer_allowance, paced ahead / paced_allowance)
//	speed      = media seconds per wall second, or rate / reference_rate (multiples of real time)
//	score      = max(presence, spread, renditions, speed / speed_limit)
//	revoke at score >= threshold * (1 + margin)
//
// places is the largest set of /24 (IPv4) or /48 (IPv6) prefixes that are
// pairwise concurrent over the last 64 slots (features.go: each active in
// min_overlap slots of their common time, min_switches switches between
// them); countries are the known countries among them. spread is the most
// places occupied at once over the window, each from its first request
// to spread_hold after its last: twenty places asking once every 30 s
// occupy twenty at once, however rarely each asks. renditions is the
// most segment renditions one viewer (address and user agent) fetches
// in parallel (the same segment numbers fetched in each, side by side
// for 4 s): a player fetches a video
// and an audio rendition, and switches from one video rendition to
// another; a restreamer pulls them all. speed is the most media seconds
// one rendition of a viewer was fetched per wall second, repeats
// included, over the time since the viewer's first request (at least
// min_span): a player at 1 plus its start buffer, a restreamer re-reading
// the live window many; when no segment carries a media duration (edges
// that learned none), the fastest viewer's requests per second against
// the reference. ahead is the most media one
// viewer fetched beyond real time in one run of consecutive segments (a
// seek starts a new run), its forward buffer, from the media durations
// the edge learned from the manifests it served: a player keeps a
// buffer, a downloader has no limit. rate is the fastest viewer's
// requests per second, repeats included, over the time since its first
// request (at least min_span, so that a start buffer is not speed; it
// falls while the viewer pauses); reference_rate is realtime_rate, or
// else the median, over the sessions whose fastest viewer played 5 s, of
// that viewer's requests per second while it played.
//
// With the defaults, three places at once, or two in two countries,
// seven places over a minute, or three in three countries, three
// renditions from one viewer, 66 s of media fetched ahead of real time,
// or 3.3 times the reference speed, revoke;
// two places in one country (a phone on mobile data beside the TV at
// home, or one player switching between IPv4 and IPv6) do not, nor a
// dual-stack phone moving from home to mobile data (four places), nor
// three devices at home (three viewers at real time each).
type concurrencyScorer struct{ cfg *ConcurrencyConfig }

func (c *concurrencyScorer) name() string       { return ScorerConcurrency }
func (c *concurrencyScorer) threshold() float64 { return c.cfg.Threshold }

// concurrencyTerms are the parts of the score.
type concurrencyTerms struct {
	presence, spread, renditions, download, reference, speed, speedScore float64
	// mediaSpeed: speed is in media seconds per wall second.
	mediaSpeed bool
}

func (c *concurrencyScorer) terms(f *features, p *population) concurrencyTerms {
	var t concurrencyTerms
	if f.locations > 1 || f.locCountries > 1 {
		t.presence = c.cfg.LocationWeight*float64(max(f.locations-1, 0)) + c.cfg.CountryWeight*float64(max(f.locCountries-1, 0))
	}
	t.spread = spreadScore(c.cfg, f.spread, f.spreadCountries, f.spreadASNs)
	t.renditions = c.cfg.RenditionWeight * float64(max(f.renditions-c.cfg.RenditionsAllowed, 0))
	t.download = max(f.ahead/c.cfg.BufferAllowance.D().Seconds(), f.pacedAhead/c.cfg.PacedAllowance.D().Seconds())
	switch {
	case f.media:
		// Media seconds per wall second: real time is 1, whatever the
		// segments' length or the catalogue's mix.
		t.speed, t.mediaSpeed = f.mediaSpeed, true
	case c.cfg.RealtimeRate > 0:
		t.reference = c.cfg.RealtimeRate
	case p.steady >= c.cfg.MinSessions:
		t.reference = p.steadyRate
	}
	if t.reference > 0 {
		t.speed = f.rate / t.reference
	}
	t.speedScore = t.speed / c.cfg.SpeedLimit
	return t
}

func (t concurrencyTerms) score() float64 {
	return max(t.presence, t.spread, t.renditions, t.download, t.speedScore)
}

func (c *concurrencyScorer) score(f *features, p *population) (float64, bool) {
	sc := c.terms(f, p).score()
	return sc, sc >= c.cfg.Threshold*(1+c.cfg.Margin)
}

func (c *concurrencyScorer) explain(f *features, p *population) map[string]float64 {
	t := c.terms(f, p)
	return map[string]float64{
		"places":            float64(f.locations),
		"place_countries":   float64(f.locCountries),
		"spread":            float64(f.spread),
		"spread_countries":  float64(f.spreadCountries),
		"spread_asns":       float64(f.spreadASNs),
		"renditions":        float64(f.renditions),
		"concurrent_ips":    float64(f.concIPs),
		"ips":               float64(f.ips),
		"prefixes":          float64(f.prefixes),
		"countries":         float64(f.countries),
		"viewers":           float64(f.viewers),
		"user_agents":       float64(f.uas),
		"referers":          float64(f.refs),
		"requests":          float64(f.requests),
		"bytes":             float64(f.bytes),
		"span_s":            f.span,
		"idle_s":            f.idle,
		"rate":              f.rate,
		"reference_rate":    t.reference,
		"speed":             t.speed,
		"presence_score":    t.presence,
		"spread_score":      t.spread,
		"renditions_score":  t.renditions,
		"ahead_s":           f.ahead,
		"media_rate":        f.aheadRate,
		"paced_ahead_s":     f.pacedAhead,
		"download_score":    t.download,
		"speed_score":       t.speedScore,
		"threshold_applied": c.cfg.Threshold * (1 + c.cfg.Margin),
	}
}
