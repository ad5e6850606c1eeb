package detect

import (
	"math"
	"math/bits"
)

// features are one session's features over the window at one time.
type features struct {
	id string
	// requests is SMDE's request_cnt: distinct (IP, URI) pairs.
	requests int
	// hits is the requests, repeats included.
	hits int
	// first and last are the first and last requests, Unix ns.
	first, last int64
	// timeRange is SMDE's time_range: whole seconds from first to last, as
	// date_diff('second', ...) counts them on logs of one-second precision.
	timeRange int64
	// span is the time from first to last, in seconds.
	span float64
	// bytes is the bytes sent.
	bytes uint64
	// Distinct IPs, /24-/48 prefixes, user agents, referers and countries.
	ips, prefixes, uas, refs, countries int
	// concIPs is the most addresses active at the same time.
	concIPs int
	// locations is the most /24-/48 prefixes active at the same time, and
	// locCountries the countries among them (at least 1 when locations is).
	locations, locCountries int
	// rate is hits per second over max(span, concurrency.min_span): a
	// player filling its buffer at start is not fast.
	rate float64
}

// referenceSpan is how long a session must have played for its hits per
// second (over its span) to count in the median of the concurrency
// scorer's reference rate. A young session's start buffer makes its rate
// high, so the median errs high early on, and speeds low: the safe side.
const referenceSpan = 5.0

// reference reports whether f counts in the reference median, and its
// rate there.
func (f *features) reference(d *Detector) (float64, bool) {
	if f.span < min(referenceSpan, d.minSpan) {
		return 0, false
	}
	return float64(f.hits) / f.span, true
}

// features computes s's features at now (Unix ns); false when s has no
// request in the window (it may be forgotten).
func (s *session) features(d *Detector, now int64) (features, bool) {
	w := d.bucketW
	lo := now/w - nBuckets + 1 // oldest bucket in the window
	f := features{id: s.id, first: math.MaxInt64}
	// The kept buckets are top-31..top: take their sums, less those that
	// have left the window, and the first request from the oldest one
	// left that has any.
	reqs, hits, by := s.sumN, s.sumHits, s.sumBytes
	for idx := s.top - nBuckets + 1; idx <= s.top; idx++ {
		b := &s.bk[idx%nBuckets]
		if idx < lo {
			reqs -= b.n
			hits -= b.hits
			by -= b.bytes
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
	f.requests, f.hits, f.bytes = int(reqs), int(hits), by
	cutoff := lo * w
	f.last = s.last
	f.timeRange = f.last/1e9 - f.first/1e9
	f.span = float64(f.last-f.first) / 1e9
	f.rate = float64(f.hits) / max(f.span, d.minSpan)
	f.uas, f.refs, f.countries = countIn(s.uas, cutoff), countIn(s.refs, cutoff), countIn(s.ctys, cutoff)

	// Addresses in the window, and those active in the last 64 slots.
	nowSlot := now / d.slotW
	var act [maxIPs]node
	n := 0
	var prefixes [maxIPs]uint64
	for i := range s.ips {
		ip := &s.ips[i]
		if ip.last < cutoff {
			continue
		}
		f.ips++
		if !contains(prefixes[:f.prefixes], ip.prefix) {
			prefixes[f.prefixes] = ip.prefix
			f.prefixes++
		}
		var b uint64
		switch sh := nowSlot - ip.topSlot; {
		case sh >= 64:
		case sh >= 0:
			b = ip.slots << uint(sh)
		default: // a request stamped after now
			b = ip.slots >> uint(-sh)
		}
		if b != 0 {
			act[n] = node{bits: b, prefix: ip.prefix, country: ip.country, last: ip.last}
			n++
		}
	}
	if n == 0 {
		return f, true
	}
	k := &d.cfg.Concurrency
	f.concIPs = bits.OnesCount32(bestClique(act[:n], k.MinOverlap, k.MinSwitches, func(m uint32) float64 {
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
	return f, true
}

// node is an address or a place active in the last 64 slots.
type node struct {
	// bits: bit k set when active k slots before now's.
	bits    uint64
	prefix  uint64
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
	if len(ns) == 1 {
		return 1
	}
	var adj [maxIPs]uint32
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if concurrent(ns[i].bits, ns[j].bits, minOverlap, minSwitches) {
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
	visit(0, uint32(1)<<len(ns)-1, 0)
	return best
}
