package detect

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/revocation"
)

// maxEvidence bounds each list of a decision's evidence.
const maxEvidence = 32

// number formats v with the fewest significant digits (at least 3) that
// keep it on its side of ref: a score of 1.0003 against a threshold of 1
// reads 1.0003, never 1.00.
func number(v, ref float64) string {
	for p := 3; p <= 17; p++ {
		s := strconv.FormatFloat(v, 'g', p, 64)
		r, _ := strconv.ParseFloat(s, 64)
		if (r < ref) == (v < ref) && (r > ref) == (v > ref) {
			return s
		}
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// FormatScore formats a score for people: four significant digits, more
// when four would round it onto the other side of, or onto, the
// threshold it was compared with (0: none).
func FormatScore(v, threshold float64) string {
	s := strconv.FormatFloat(v, 'g', 4, 64)
	if threshold == 0 {
		return s
	}
	if r, _ := strconv.ParseFloat(s, 64); (r < threshold) == (v < threshold) && (r == threshold) == (v == threshold) {
		return s
	}
	return number(v, threshold)
}

// span writes a duration in whole seconds, or minutes and seconds.
func span(ns int64) string {
	d := time.Duration(ns).Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
	return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
}

// plural writes n and the noun, with an s when n is not 1.
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return strconv.Itoa(n) + " " + noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "s"):
		return strconv.Itoa(n) + " " + noun + "es"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// words explains, in an operator's words, each term of f's score that is
// over the threshold the decision applies, and then the score itself.
func (c *concurrencyScorer) words(f *features, p *population) []string {
	t := c.terms(f, p)
	limit := c.cfg.Threshold * (1 + c.cfg.Margin)
	var out []string
	over := func(v float64) bool { return v >= limit }
	if over(t.presence) {
		out = append(out, fmt.Sprintf("played from %s at the same time in %s (requests switching between them within the last %s): presence %s",
			plural(f.locations, "place"), plural(f.locCountries, "country"), span(64*int64(c.cfg.Slot.D())), number(t.presence, limit)))
	}
	if over(t.spread) {
		ops := ""
		if f.spreadASNs > 0 {
			ops = " of " + plural(f.spreadASNs, "network operator")
		}
		out = append(out, fmt.Sprintf("seen from %s%s in %s, all in use within %s (one viewer occupies one or two places at a time): spread %s",
			plural(f.spread, "place"), ops, plural(f.spreadCountries, "country"), span(max(f.spreadTo-f.spreadFrom, int64(time.Second))), number(t.spread, limit)))
	}
	if over(t.renditions) {
		out = append(out, fmt.Sprintf("one viewer fetched %s in parallel, continuously (a player fetches %d and switches between video renditions): renditions %s",
			plural(f.renditions, "rendition"), c.cfg.RenditionsAllowed, number(t.renditions, limit)))
	}
	switch {
	case over(t.download) && f.pacedAhead/c.cfg.PacedAllowance.D().Seconds() >= t.download:
		out = append(out, fmt.Sprintf("one viewer fetched %s s of media ahead of real time, at twice real time or more for 6 s with its link idle more than half the time (a player fills its buffer back to back, then fetches at real time; %s s allowed so): download %s",
			number(f.pacedAhead, 0), number(c.cfg.PacedAllowance.D().Seconds(), 0), number(t.download, limit)))
	case over(t.download):
		out = append(out, fmt.Sprintf("one viewer fetched %s s of media ahead of real time (%s s of media per second over %s; a player buffers at most %s s): download %s",
			number(f.ahead, 0), number(f.aheadRate, 0), span(int64(f.aheadSpan*1e9)), number(c.cfg.BufferAllowance.D().Seconds(), 0), number(t.download, limit)))
	}
	switch {
	case over(t.speedScore) && t.mediaSpeed:
		out = append(out, fmt.Sprintf("one viewer fetched %s s of media per second of one rendition, repeats included (a player fetches 1, and its start buffer; limit %s): speed %s",
			number(t.speed, c.cfg.SpeedLimit*(1+c.cfg.Margin)), number(c.cfg.SpeedLimit, 0), number(t.speedScore, limit)))
	case over(t.speedScore):
		out = append(out, fmt.Sprintf("one viewer fetched %s times as fast as a player in real time (%s requests/s against a reference of %s/s, limit %s times): speed %s",
			number(t.speed, c.cfg.SpeedLimit*(1+c.cfg.Margin)), number(f.rate, 0), number(t.reference, 0), number(c.cfg.SpeedLimit, 0), number(t.speedScore, limit)))
	}
	return append(out, fmt.Sprintf("%s score %s, at or over %s (threshold %s plus a margin of %s %%)",
		ScorerConcurrency, number(t.score(), limit), number(limit, 0), number(c.cfg.Threshold, 0), number(c.cfg.Margin*100, 0)))
}

// words explains SMDE's score: its four terms and the total.
func (s *smdeScorer) words(f *features, p *population) []string {
	t, _ := s.terms(f, p)
	var out []string
	if t.ipRate > 0 {
		out = append(out, fmt.Sprintf("requested %s distinct URIs in %d s, %s times the median session's rate: ip_rate %s",
			strconv.Itoa(f.requests), f.timeRange, number(t.ipRate/max(s.cfg.IPRate, 1e-300), 0), number(t.ipRate, 0)))
	}
	if t.ipPenalty > 0 {
		out = append(out, fmt.Sprintf("seen from %s: ip_penalty %s", plural(f.ips, "address"), number(t.ipPenalty, 0)))
	}
	if t.refererPenalty > 0 {
		out = append(out, fmt.Sprintf("sent %s: referer_penalty %s", plural(f.refs, "referer"), number(t.refererPenalty, 0)))
	}
	if t.uaPenalty > 0 {
		out = append(out, fmt.Sprintf("sent %s: ua_penalty %s", plural(f.uas, "user agent"), number(t.uaPenalty, 0)))
	}
	return append(out, fmt.Sprintf("%s score %s, over %s", ScorerSMDE, number(t.sum(), s.cfg.ScoreThreshold), number(s.cfg.ScoreThreshold, 0)))
}

// evidence gathers what f counted from its session, under the shard's
// lock: the places of its presence or spread (whichever is larger), their
// addresses and countries, the user agents of its viewers in the window,
// and the renditions its most parallel viewer fetched.
func (d *Detector) evidence(f *features) *revocation.Evidence {
	sh := &d.shards[f.shard]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := f.s
	ev := &revocation.Evidence{From: time.Unix(0, f.first).UTC(), To: time.Unix(0, f.last).UTC()}
	mask := f.spreadMask
	if bits.OnesCount64(f.locMask) > bits.OnesCount64(mask) {
		mask = f.locMask
	}
	if bits.OnesCount64(mask) < 2 { // a single place: every place of the window
		for i := range s.places {
			if s.places[i].last >= f.first {
				mask |= 1 << i
			}
		}
	}
	var ctys []string
	var asns []uint32
	for i := range s.places {
		if mask&(1<<i) == 0 || i >= len(s.places) {
			continue
		}
		p := &s.places[i]
		if len(ev.Addresses) < maxEvidence && p.addr.IsValid() {
			ev.Addresses = append(ev.Addresses, p.addr.String())
			ev.Networks = append(ev.Networks, network(p.addr))
		}
		if c := countryName(p.country); c != "" && !slices.Contains(ctys, c) {
			ctys = append(ctys, c)
		}
		if p.asn != 0 && !slices.Contains(asns, p.asn) && len(asns) < maxEvidence {
			asns = append(asns, p.asn)
		}
	}
	slices.Sort(ctys)
	ev.Countries = ctys
	slices.Sort(asns)
	for _, a := range asns {
		ev.ASNs = append(ev.ASNs, "AS"+strconv.FormatUint(uint64(a), 10))
	}
	for i := range s.viewers {
		v := &s.viewers[i]
		if v.last < f.first || len(ev.UserAgents) >= maxEvidence {
			continue
		}
		ua := v.ua
		if ua == "" {
			ua = "-"
		}
		if len(ua) > 256 {
			ua = strings.ToValidUTF8(ua[:256], "")
		}
		if !slices.Contains(ev.UserAgents, ua) {
			ev.UserAgents = append(ev.UserAgents, ua)
		}
	}
	if f.renditions > 1 && f.rendViewer >= 0 && f.rendViewer < len(s.viewers) {
		v := &s.viewers[f.rendViewer]
		for j := range v.rends {
			if f.rendMask&(1<<j) != 0 {
				name := v.rends[j].name
				if len(name) > 256 {
					name = strings.ToValidUTF8(name[:256], "")
				}
				ev.Renditions = append(ev.Renditions, name)
			}
		}
	}
	return ev
}

// network returns the /24 (IPv4) or /48 (IPv6) of a.
func network(a netip.Addr) string {
	b := 48
	if a.Is4() {
		b = 24
	}
	p, err := a.Prefix(b)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// countryName unpacks a country packed by country; "" for none.
func countryName(c uint16) string {
	if c == 0 {
		return ""
	}
	return string([]byte{byte(c >> 8), byte(c)})
}
