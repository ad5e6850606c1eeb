package detect

// concurrencyScorer looks for what a shared or restreamed token does and
// a viewer does not: play from several places at the same time, or fetch
// far faster than real time. It does not count what a viewer does: change
// network once (Wi-Fi to mobile: one switch between two places), come
// back, or watch on two devices at home (one /24 or /48 prefix, one
// place).
//
//	presence = location_weight * (places - 1) + country_weight * (countries - 1)
//	speed    = rate / reference_rate            (multiples of real time)
//	score    = max(presence, speed / speed_limit); revoke at score >= threshold
//
// places is the largest set of /24 (IPv4) or /48 (IPv6) prefixes that are
// pairwise concurrent over the last 64 slots (features.go: each active in
// min_overlap slots of their common time, min_switches switches between
// them); countries are the known countries among them. rate is the
// session's requests per second, repeats included, over at least
// min_span (so that a start buffer is not speed); reference_rate is
// realtime_rate, or else the median, over the sessions that have played
// 5s, of their requests per second over their span (young sessions' start
// buffers make it err high: speeds err low). A restreamer pulling every
// rendition, or re-reading the live window over and over, and a
// downloader, request many times what a player does. With the defaults,
// three places at once, or two in two countries, or three times the
// reference speed, revoke; two places in one country (a phone on mobile
// data beside the TV at home, or one player switching between IPv4 and
// IPv6) do not, nor two devices at home (one place, twice the requests).
type concurrencyScorer struct{ cfg *ConcurrencyConfig }

func (c *concurrencyScorer) name() string       { return ScorerConcurrency }
func (c *concurrencyScorer) threshold() float64 { return c.cfg.Threshold }

// concurrencyTerms are the parts of the score.
type concurrencyTerms struct {
	presence, reference, speed, speedScore float64
}

func (c *concurrencyScorer) terms(f *features, p *population) concurrencyTerms {
	var t concurrencyTerms
	if f.locations > 1 || f.locCountries > 1 {
		t.presence = c.cfg.LocationWeight*float64(max(f.locations-1, 0)) + c.cfg.CountryWeight*float64(max(f.locCountries-1, 0))
	}
	switch {
	case c.cfg.RealtimeRate > 0:
		t.reference = c.cfg.RealtimeRate
	case p.steady >= c.cfg.MinSessions:
		t.reference = p.steadyRate
	}
	if t.reference > 0 {
		t.speed = f.rate / t.reference
		t.speedScore = t.speed / c.cfg.SpeedLimit
	}
	return t
}

func (c *concurrencyScorer) score(f *features, p *population) (float64, bool) {
	t := c.terms(f, p)
	sc := max(t.presence, t.speedScore)
	return sc, sc >= c.cfg.Threshold
}

func (c *concurrencyScorer) explain(f *features, p *population) map[string]float64 {
	t := c.terms(f, p)
	return map[string]float64{
		"places":          float64(f.locations),
		"place_countries": float64(f.locCountries),
		"concurrent_ips":  float64(f.concIPs),
		"ips":             float64(f.ips),
		"prefixes":        float64(f.prefixes),
		"countries":       float64(f.countries),
		"user_agents":     float64(f.uas),
		"referers":        float64(f.refs),
		"requests":        float64(f.requests),
		"bytes":           float64(f.bytes),
		"span_s":          f.span,
		"rate":            f.rate,
		"reference_rate":  t.reference,
		"speed":           t.speed,
		"presence_score":  t.presence,
		"speed_score":     t.speedScore,
	}
}
