package detect

import (
	"math"
	"math/bits"
)

// features are one session's features over the window at one time.
type features struct {
	id string
	// s and shard locate the session, to gather the evidence of a
	// decision (under the shard's lock).
	s     *session
	shard int
	// requests is SMDE's request_cnt: distinct (IP, URI) pairs.
	requests int
	// hits is the requests, repeats included.
	hits int
	// first and last are the first and last requests, Unix ns.
	first, last int64
	// idle is the time since the last request, in seconds.
	idle float64
	// timeRange is SMDE's time_range: whole seconds from first to last, as
	// date_diff('second', ...) counts them on logs of one-second precision.
	timeRange int64
	// span is the time from first to last, in seconds.
	span float64
	// bytes is the bytes sent (counted in KiB per request, rounded up).
	bytes uint64
	// Distinct IPs (at least: a session remembers 16 viewers and 64
	// places), /24-/48 prefixes, user agents, referers and countries.
	ips, prefixes, uas, refs, countries int
	// viewers is the distinct (address, user agent) pairs in the window.
	viewers int
	// concIPs is the most addresses active at the same time.
	concIPs int
	// locations is the most /24-/48 prefixes active at the same time, and
	// locCountries the countries among them (at least 1 when locations is).
	locations, locCountries int
	// locMask holds the places (indexes into s.places) of locations.
	locMask uint64
	// spread is the most places occupied at once over the window, a place
	// occupied from its first request to spread_hold after its last, and
	// spreadCountries the countries among them; spreadMask holds them,
	// spreadFrom and spreadTo the first and last request among them.
	spread, spreadCountries int
	// spreadASNs is the known network operators (ASNs) among them.
	spreadASNs           int
	spreadMask           uint64
	spreadFrom, spreadTo int64
	// renditions is the most renditions one viewer fetched in parallel
	// (pairwise concurrent over the last 64 slots); rendViewer is that
	// viewer (index into s.viewers) and rendMask its renditions.
	renditions int
	rendViewer int
	rendMask   uint32
	// rate is the fastest viewer's requests per second over
	// max(time since its first request in the last half-lookback to a
	// lookback, concurrency.min_span): a player filling its buffer at
	// start is not fast, and a viewer's rate falls while it pauses or
	// after it stops. rateViewer is that viewer.
	rate       float64
	rateViewer int
	// ahead is the most media one viewer fetched beyond real time, in
	// seconds (see rendition.media), and aheadRate the media seconds per
	// wall second of that run of segments, aheadSpan its length.
	ahead, aheadRate, aheadSpan float64
	aheadViewer                 int
	// pacedAhead is the most media one viewer fetched beyond real time on
	// a rendition it fetches paced (rendition.paced): 0 when none is.
	pacedAhead float64
	// mediaSpeed is the most media seconds one rendition of a viewer was
	// fetched per wall second, repeats included, over the time since the
	// viewer's first request (as rate); media tells whether any segment
	// had a media duration (else speed falls back on rate).
	mediaSpeed float64
	media      bool
	// active is the fastest viewer's requests per second over the time
	// it played (first to last request, at least referenceSpan): what a
	// session gives the reference median; 0 when no viewer played that long.
	active float64
}

// referenceSpan is how long a viewer must have played for its hits per
// second (over its span) to count in the median of the concurrency
// scorer's reference rate. A young session's start buffer makes its rate
// high, so the median errs high early on, and speeds low: the safe side.
const referenceSpan = 5.0

// reference reports whether f counts in the reference median, and its
// rate there.
func (f *features) reference(d *Detector) (float64, bool) {
	if f.active <= 0 {
		return 0, false
	}
	return f.active, true
}

// features computes s's features at now (Unix ns); false when s has no
// request in the window (it may be forgotten).
func (s *session) features(d *Detector, now int64) (features, bool) {
	w := d.bucketW
	lo := now/w - nBuckets + 1 // oldest bucket in the window
	f := features{id: s.id, s: s, first: math.MaxInt64}
	// The kept buckets are top-31..top: take their sums, less those that
	// have left the window, and the first request from the oldest one
	// left that has any.
	reqs, hits, by := s.sumN, s.sumHits, s.sumBytes
	for idx := s.top - nBuckets + 1; idx <= s.top; idx++ {
		b := &s.bk[idx%nBuckets]
		if idx < lo {
			reqs -= b.n
			hits -= b.hits
			by -= uint64(b.bytes)
			continue
		}
		if b.minUS != noEvent {
			f.first = idx*w + int64(b.minUS)*1000
			break
		}
	}
	if f.first == math.MaxInt64 {
		return f, false
	}
	f.requests, f.hits, f.bytes = int(reqs), int(hits), by*1024
	cutoff := lo * w
	f.last = s.last
	f.idle = max(float64(now-s.last)/1e9, 0)
	f.timeRange = f.last/1e9 - f.first/1e9
	f.span = float64(f.last-f.first) / 1e9
	f.uas, f.refs, f.countries = countIn(s.uas, cutoff), countIn(s.refs, cutoff), countIn(s.ctys, cutoff)
	k := &d.cfg.Concurrency

	// Viewers: their speed, and the renditions each fetches in parallel.
	nowSlot := now / d.slotW
	var act [maxIPs]node
	n := 0
	var addrs [maxIPs]uint64
	na := 0
	epoch := now / d.epochW
	f.rateViewer, f.rendViewer, f.aheadViewer = -1, -1, -1
	for i := range s.viewers {
		v := &s.viewers[i]
		if v.last < cutoff {
			continue
		}
		f.viewers++
		if !contains(addrs[:na], v.addr) {
			addrs[na] = v.addr
			na++
		}
		// Requests of the last one or two half-lookbacks, over the time
		// from the first of them (or the viewer's first request) to now.
		var h uint32
		from := v.first
		switch v.epoch {
		case epoch:
			h = v.hits + v.prev
			from = max(from, (epoch-1)*d.epochW)
		case epoch - 1:
			h = v.hits
			from = max(from, (epoch-1)*d.epochW)
		}
		if h > 0 {
			wall := max(float64(now-from)/1e9, d.minSpan)
			if r := float64(h) / wall; r > f.rate {
				f.rate, f.rateViewer = r, i
			}
			for j := range v.rends {
				r := &v.rends[j]
				var ms uint32
				switch v.epoch {
				case epoch:
					ms = satAdd(r.mediaNow, r.mediaPrev)
				case epoch - 1:
					ms = r.mediaNow
				}
				if ms > 0 {
					f.media = true
					f.mediaSpeed = max(f.mediaSpeed, float64(ms)/1000/wall)
				}
			}
			if sp := float64(v.last-from) / 1e9; sp >= min(referenceSpan, d.minSpan) {
				f.active = max(f.active, float64(h)/sp)
			}
		}
		if b := shifted(v.slots, v.topSlot, nowSlot); b != 0 {
			act[n] = node{bits: b, prefix: v.prefix, country: v.country, last: v.last, addr: v.addr}
			n++
		}
		if c, m := parallel(v.rends, now-d.rendRecent); c > f.renditions {
			f.renditions, f.rendViewer, f.rendMask = c, i, m
		}
		for j := range v.rends {
			r := &v.rends[j]
			a := float64(r.ahead(now)) / 1000
			if a > f.ahead {
				f.ahead, f.aheadViewer = a, i
				f.aheadSpan = float64(r.levelAt-r.runAt) / 1e9
				f.aheadRate = float64(r.runMS) / 1000 / max(f.aheadSpan, 1)
			}
			if a > f.pacedAhead && r.paced(now) {
				f.pacedAhead = a
			}
		}
	}
	f.ips = na

	// Places over the window: how many one could occupy at once.
	s.spreadOf(&f, d, cutoff)
	f.ips = max(f.ips, f.prefixes)

	if n == 0 {
		return f, true
	}
	// Addresses at once: the viewers of one address are one node.
	var ads [maxIPs]node
	nad := 0
	for _, a := range act[:n] {
		j := 0
		for j < nad && ads[j].addr != a.addr {
			j++
		}
		if j == nad {
			ads[nad] = a
			nad++
			continue
		}
		ads[j].bits |= a.bits
	}
	f.concIPs = bits.OnesCount32(bestClique(ads[:nad], k.MinOverlap, k.MinSwitches, func(m uint32) float64 {
		return float64(bits.OnesCount32(m))
	}))
	// Places: the addresses of one prefix are one place; its country is
	// that of its latest request.
	var locs [maxIPs]node
	nl := 0
	for _, a := range act[:n] {
		j := 0
		for j < nl && locs[j].prefix != a.prefix {
			j++
		}
		if j == nl {
			locs[nl] = a
			nl++
			continue
		}
		locs[j].bits |= a.bits
		if a.last > locs[j].last {
			locs[j].last, locs[j].country = a.last, a.country
		}
	}
	score := func(m uint32) float64 {
		return k.LocationWeight*float64(bits.OnesCount32(m)-1) + k.CountryWeight*float64(countriesOf(locs[:nl], m)-1)
	}
	best := bestClique(locs[:nl], k.MinOverlap, k.MinSwitches, score)
	f.locations, f.locCountries = bits.OnesCount32(best), countriesOf(locs[:nl], best)
	for i := range nl {
		if best&(1<<i) == 0 {
			continue
		}
		for j := range s.places {
			if s.places[j].prefix == locs[i].prefix {
				f.locMask |= 1 << j
			}
		}
	}
	return f, true
}

// parallel returns the most renditions of rs fetched in parallel, and
// which: renditions each fetched since recent, fetched side by side for
// rendCoexist, whose last segments share at least two numbers (the same
// media time fetched in both, over and over). A player fetches its video
// and audio renditions so; switching video rendition it goes on from the
// next number, however often it switches, and a viewer zapping to another
// channel or title stops fetching the first.
func parallel(rs []rendition, recent int64) (int, uint32) {
	var in [maxRends]int
	n := 0
	for j := range rs {
		if rs[j].last >= recent {
			in[n] = j
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	m := maxClique(n, func(a, b int) bool {
		x, y := &rs[in[a]], &rs[in[b]]
		return min(x.last, y.last)-max(x.first, y.first) >= int64(rendCoexist) && x.shared(y) >= 2
	},
		func(m uint32) float64 { return float64(bits.OnesCount32(m)) })
	var mask uint32
	for k := range n {
		if m&(1<<k) != 0 {
			mask |= 1 << in[k]
		}
	}
	return bits.OnesCount32(m), mask
}

// shifted returns an activity bitmap whose bit 0 is slot top as seen at
// slot now: bit k set when active k slots before now's.
func shifted(b uint64, top, now int64) uint64 {
	switch sh := now - top; {
	case sh >= 64:
		return 0
	case sh >= 0:
		return b << uint(sh)
	default: // a request stamped after now
		return b >> uint(-sh)
	}
}

// spreadOf computes the places of s in the window (prefixes) and the most
// of them occupied at once, each from its first request to spread_hold
// after its last: a viewer moving from network to network occupies one
// or two at a time, however long it plays; a token handed to many places
// occupies them all, however rarely each asks.
func (s *session) spreadOf(f *features, d *Detector, cutoff int64) {
	var in [maxPlaces]int8
	n := 0
	for i := range s.places {
		if s.places[i].last >= cutoff {
			in[n] = int8(i)
			n++
		}
	}
	f.prefixes = n
	if n == 0 {
		return
	}
	hold := d.spreadHold
	k := &d.cfg.Concurrency
	bestScore := math.Inf(-1)
	// The most intervals overlap at the start of one of them.
	for _, i := range in[:n] {
		at := s.places[i].first
		var m uint64
		c, from, to := 0, int64(math.MaxInt64), int64(0)
		var ctys [maxPlaces]uint16
		var asns [maxPlaces]uint32
		nc, na := 0, 0
		for _, j := range in[:n] {
			p := &s.places[j]
			if p.first > at || p.last+hold < at {
				continue
			}
			m |= 1 << j
			c++
			from, to = min(from, p.first), max(to, p.last)
			if p.country != 0 && !contains(ctys[:nc], p.country) {
				ctys[nc] = p.country
				nc++
			}
			if p.asn != 0 && !contains(asns[:na], p.asn) {
				asns[na] = p.asn
				na++
			}
		}
		nc = max(nc, 1)
		sc := spreadScore(k, c, nc, na)
		if sc > bestScore || sc == bestScore && c > f.spread {
			bestScore = sc
			f.spread, f.spreadCountries, f.spreadASNs, f.spreadMask, f.spreadFrom, f.spreadTo = c, nc, na, m, from, to
		}
	}
}

// spreadScore is the spread term of places places in countries countries
// and asns known network operators.
func spreadScore(k *ConcurrencyConfig, places, countries, asns int) float64 {
	return k.SpreadWeight*float64(max(places-k.SpreadAllowance, 0)) + k.CountryWeight*float64(max(countries-1, 0)) +
		k.ASNWeight*float64(max(asns-k.ASNAllowance, 0))
}

// node is a viewer, an address, a place or a rendition active in the
// last 64 slots.
type node struct {
	// bits: bit k set when active k slots before now's.
	bits    uint64
	prefix  uint64
	addr    uint64
	country uint16
	last    int64
}

// countriesOf counts the known countries of the nodes in m; at least 1.
func countriesOf(ns []node, m uint32) int {
	var seen [maxIPs]uint16
	c := 0
	for i := range ns {
		if m&(1<<i) == 0 || ns[i].country == 0 {
			continue
		}
		if !contains(seen[:c], ns[i].country) {
			seen[c] = ns[i].country
			c++
		}
	}
	return max(c, 1)
}

func contains[T comparable](l []T, v T) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// concurrent reports whether two activity bitmaps (bit 63 oldest) show
// use at the same time rather than one after the other: within the time
// both are active (from the later first request to the earlier last),
// each is active in at least minOverlap slots, and the requests switch
// between them at least minSwitches times. A handover switches once; a
// return to the first network twice; two players at once every few
// seconds.
func concurrent(a, b uint64, minOverlap, minSwitches int) bool {
	hi := min(63-bits.LeadingZeros64(a), 63-bits.LeadingZeros64(b))
	lo := max(bits.TrailingZeros64(a), bits.TrailingZeros64(b))
	if hi < lo {
		return false
	}
	m := (^uint64(0) >> uint(63-hi)) &^ (uint64(1)<<uint(lo) - 1)
	if bits.OnesCount64(a&m) < minOverlap || bits.OnesCount64(b&m) < minOverlap {
		return false
	}
	return switches(a, b) >= minSwitches
}

// switches counts the changes between a and b in time order. A slot where
// both are active counts as one change (the order within it is unknown):
// a handover with one such slot still switches once.
func switches(a, b uint64) int {
	n, prev := 0, 0 // prev: 1 a, 2 b
	for u := a | b; u != 0; {
		k := 63 - bits.LeadingZeros64(u)
		bit := uint64(1) << uint(k)
		u &^= bit
		inA, inB := a&bit != 0, b&bit != 0
		switch {
		case inA && inB:
			n++
			if prev == 2 {
				prev = 1
			} else {
				prev = 2
			}
		case inA:
			if prev == 2 {
				n++
			}
			prev = 1
		default:
			if prev == 1 {
				n++
			}
			prev = 2
		}
	}
	return n
}

// bestClique returns, among the maximal sets of nodes that are pairwise
// concurrent, the one of the highest score (ties: the larger). At most 16
// nodes; Bron-Kerbosch with a pivot, on bitmasks.
func bestClique(ns []node, minOverlap, minSwitches int, score func(uint32) float64) uint32 {
	return maxClique(len(ns), func(i, j int) bool { return concurrent(ns[i].bits, ns[j].bits, minOverlap, minSwitches) }, score)
}

// maxClique returns, among the maximal sets of n nodes (at most 16) that
// are pairwise adjacent, the one of the highest score (ties: the larger).
// Bron-Kerbosch with a pivot, on bitmasks.
func maxClique(n int, adjacent func(i, j int) bool, score func(uint32) float64) uint32 {
	switch {
	case n == 1:
		return 1
	case n == 2 && adjacent(0, 1):
		return 3
	case n == 2:
		if score(2) > score(1) {
			return 2
		}
		return 1
	}
	var adj [maxIPs]uint32
	for i := range n {
		for j := i + 1; j < n; j++ {
			if adjacent(i, j) {
				adj[i] |= 1 << j
				adj[j] |= 1 << i
			}
		}
	}
	var best uint32
	bestScore := math.Inf(-1)
	var visit func(r, p, x uint32)
	visit = func(r, p, x uint32) {
		if p == 0 && x == 0 {
			sc := score(r)
			if sc > bestScore || sc == bestScore && bits.OnesCount32(r) > bits.OnesCount32(best) {
				best, bestScore = r, sc
			}
			return
		}
		u := bits.TrailingZeros32(p | x)
		for c := p &^ adj[u]; c != 0; c &= c - 1 {
			v := bits.TrailingZeros32(c)
			visit(r|1<<v, p&adj[v], x&adj[v])
			p &^= 1 << v
			x |= 1 << v
		}
	}
	visit(0, uint32(1)<<n-1, 0)
	return best
}
