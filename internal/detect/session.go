package detect

import (
	"hash/maphash"
	"math"
	"net/netip"

	"github.com/smd-media/smd/internal/accesslog"
)

// Sizes of a session's state: about 1.5 KB with one address, one user
// agent and one referer, whatever the session's traffic.
const (
	// nBuckets is the number of time buckets of the lookback window.
	nBuckets = 32
	// nPairs is how many (IP, URI) pairs a session remembers to tell a
	// repeated request (a live playlist's refresh, a byte range of the
	// same file) from a new one. The least recently requested is
	// forgotten first, so a pair repeated within the last 32 distinct
	// pairs is never counted twice; segments are not requested again.
	nPairs = 32
	// maxIPs is how many addresses a session remembers; beyond, the least
	// recently active is forgotten (the session is far past any limit).
	maxIPs = 16
	// maxSeen is how many user agents, referers and countries a session
	// remembers, with the same rule.
	maxSeen = 8
	// noEvent marks an empty bucket.
	noEvent = math.MaxUint32
)

// bucket is one slice of the lookback window.
type bucket struct {
	// n counts the distinct (IP, URI) pairs whose latest request falls in
	// the bucket: their sum over the window is SMDE's
	// COUNT(DISTINCT(viewer_ip, uri)).
	n uint32
	// minUS is the earliest request of the bucket, in µs after its
	// start; noEvent when it has none.
	minUS uint32
	// hits counts the bucket's requests, repeats included.
	hits uint32
	// bytes is the bytes sent by the bucket's requests.
	bytes uint64
}

// pair is one remembered (IP, URI) pair.
type pair struct {
	// fp is the pair's fingerprint (32 bits of its hash).
	fp uint32
	// bk is the bucket of its latest request, relative to session.base.
	bk uint32
}

// ipState is one address of a session.
type ipState struct {
	key     uint64 // hash of the address as written in the event
	prefix  uint64 // hash of its /24 (IPv4) or /48 (IPv6)
	last    int64  // latest request, Unix ns
	topSlot int64  // slot of bit 0 of slots
	slots   uint64 // bit k set: a request in slot topSlot-k
	country uint16 // of its latest request; 0 unknown
}

// seen is one user agent, referer or country of a session.
type seen struct {
	h    uint64
	last int64
}

// session is one session's state.
type session struct {
	id string
	// base is the bucket index that pair.bk counts from; top is the
	// newest bucket index; last the latest request (Unix ns).
	base, top, last int64
	// sumN, sumHits and sumBytes are the sums of n, hits and bytes over
	// bk, kept as requests come and buckets empty, so that an evaluation
	// reads few buckets.
	sumN, sumHits   uint32
	sumBytes        uint64
	bk              [nBuckets]bucket
	pairs           [nPairs]pair
	npairs          int
	ips             []ipState
	uas, refs, ctys []seen
}

func newSession(id string, idx int64) *session {
	s := &session{id: id, base: idx - nBuckets, top: idx}
	for i := range s.bk {
		s.bk[i].minUS = noEvent
	}
	return s
}

// observe adds a request at t (Unix ns, not after the detector's clock)
// whose bucket index is t/d.bucketW.
func (s *session) observe(d *Detector, ev *accesslog.Event, t int64) {
	w := d.bucketW
	idx := t / w
	switch {
	case idx > s.top:
		s.advance(idx)
	case idx <= s.top-nBuckets:
		return // older than every bucket kept
	}
	b := &s.bk[idx%nBuckets]
	if us := uint32((t - idx*w) / 1000); us < b.minUS {
		b.minUS = us
	}
	b.bytes += uint64(ev.BytesSent)
	s.sumBytes += uint64(ev.BytesSent)
	b.hits++
	s.sumHits++
	if t > s.last {
		s.last = t
	}
	ip := s.addr(d, ev.ViewerIP, t, country(ev.Country))
	s.uas = touch(s.uas, maphash.String(d.seed, ev.UserAgent), t)
	// An absent referer counts as one value, as CloudFront's "-" does.
	s.refs = touch(s.refs, maphash.String(d.seed, ev.Referer), t)
	if c := country(ev.Country); c != 0 {
		s.ctys = touch(s.ctys, uint64(c), t)
	}
	fp := uint32((maphash.String(d.seed, ev.OriginPath) ^ ip.key*0x9e3779b97f4a7c15) >> 32)
	s.countPair(fp, idx)
}

// advance makes idx the newest bucket, emptying those it passes.
func (s *session) advance(idx int64) {
	steps := min(idx-s.top, nBuckets)
	for i := int64(1); i <= steps; i++ {
		b := &s.bk[(s.top+i)%nBuckets]
		s.sumN -= b.n
		s.sumHits -= b.hits
		s.sumBytes -= b.bytes
		*b = bucket{minUS: noEvent}
	}
	s.top = idx
}

// countPair counts a request of the pair fp in bucket idx: a pair counts
// once, in the bucket of its latest request.
func (s *session) countPair(fp uint32, idx int64) {
	rel := uint32(idx - s.base)
	top := uint32(s.top - s.base)
	live := func(bk uint32) bool { return bk+nBuckets > top }
	for i := 0; i < s.npairs; i++ {
		p := &s.pairs[i]
		if p.fp != fp {
			continue
		}
		switch {
		case !live(p.bk):
			s.bk[idx%nBuckets].n++
			s.sumN++
			p.bk = rel
		case rel > p.bk:
			s.bk[(int64(p.bk)+s.base)%nBuckets].n--
			s.bk[idx%nBuckets].n++
			p.bk = rel
		}
		return
	}
	s.bk[idx%nBuckets].n++
	s.sumN++
	if s.npairs < nPairs {
		s.pairs[s.npairs] = pair{fp, rel}
		s.npairs++
		return
	}
	// Forget the pair whose latest request is oldest; its count stays
	// where it was.
	v := 0
	for i := 1; i < nPairs; i++ {
		if s.pairs[i].bk < s.pairs[v].bk {
			v = i
		}
	}
	s.pairs[v] = pair{fp, rel}
}

// addr records a request from the address a and returns its state.
func (s *session) addr(d *Detector, a string, t int64, cty uint16) *ipState {
	key := maphash.String(d.seed, a)
	var ip *ipState
	for i := range s.ips {
		if s.ips[i].key == key {
			ip = &s.ips[i]
			break
		}
	}
	if ip == nil {
		n := ipState{key: key, prefix: prefixHash(d.seed, a), topSlot: t / d.slotW}
		if len(s.ips) < maxIPs {
			s.ips = append(s.ips, n)
			ip = &s.ips[len(s.ips)-1]
		} else {
			v := 0
			for i := range s.ips {
				if s.ips[i].last < s.ips[v].last {
					v = i
				}
			}
			s.ips[v] = n
			ip = &s.ips[v]
		}
	}
	if t >= ip.last {
		ip.last = t
		if cty != 0 {
			ip.country = cty
		}
	}
	slot := t / d.slotW
	if slot > ip.topSlot {
		if sh := slot - ip.topSlot; sh >= 64 {
			ip.slots = 0
		} else {
			ip.slots <<= uint(sh)
		}
		ip.topSlot = slot
	}
	if k := ip.topSlot - slot; k < 64 {
		ip.slots |= 1 << uint(k)
	}
	return ip
}

// touch records h at t in l, forgetting the least recent beyond maxSeen.
func touch(l []seen, h uint64, t int64) []seen {
	for i := range l {
		if l[i].h == h {
			l[i].last = max(l[i].last, t)
			return l
		}
	}
	if len(l) < maxSeen {
		return append(l, seen{h, t})
	}
	v := 0
	for i := range l {
		if l[i].last < l[v].last {
			v = i
		}
	}
	l[v] = seen{h, t}
	return l
}

// country packs a two-letter country code; 0 for anything else.
func country(c string) uint16 {
	if len(c) != 2 {
		return 0
	}
	return uint16(c[0])<<8 | uint16(c[1])
}

// prefixHash hashes the /24 of an IPv4 address or the /48 of an IPv6 one
// (the network a household or a mobile carrier's gateway hands out); an
// unreadable address is its own prefix.
func prefixHash(seed maphash.Seed, a string) uint64 {
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return maphash.String(seed, "?"+a)
	}
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return maphash.String(seed, "?"+a)
	}
	b, _ := p.MarshalBinary() // never fails
	return maphash.Bytes(seed, b)
}

// countIn counts the entries of l seen at or after cutoff.
func countIn(l []seen, cutoff int64) int {
	n := 0
	for i := range l {
		if l[i].last >= cutoff {
			n++
		}
	}
	return n
}
