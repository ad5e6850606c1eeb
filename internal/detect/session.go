package detect

import (
	"hash/maphash"
	"math"
	"net/netip"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/mediatime"
)

// Sizes of a session's state: about 1.8 KB with one viewer (address and
// user agent) fetching two renditions and one referer, whatever the
// session's traffic; more only for sessions seen from many places.
const (
	// nBuckets is the number of time buckets of the lookback window.
	nBuckets = 32
	// nPairs is how many (IP, URI) pairs a session remembers to tell a
	// repeated request (a live playlist's refresh, a byte range of the
	// same file) from a new one. The least recently requested is
	// forgotten first, so a pair repeated within the last 32 distinct
	// pairs is never counted twice; segments are not requested again.
	nPairs = 32
	// maxIPs is how many viewers (address and user agent) a session
	// remembers; beyond, the least recently active is forgotten (the
	// session is far past any limit of presence at once).
	maxIPs = 16
	// maxPlaces is how many places (/24 or /48 prefixes) a session
	// remembers over the window, the least recently active forgotten
	// first: 64 is well past the spread that revokes.
	maxPlaces = 64
	// maxRends is how many renditions a viewer remembers.
	maxRends = 8
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
	// bytes is the bytes sent by the bucket's requests, in KiB
	// (rounded up per request; saturating): 4 TiB per bucket.
	bytes uint32
}

// pair is one remembered (IP, URI) pair.
type pair struct {
	// fp is the pair's fingerprint (32 bits of its hash).
	fp uint32
	// bk is the bucket of its latest request, relative to session.base.
	bk uint32
}

// viewer is one device of a session: one address and one user agent.
type viewer struct {
	key     uint64 // hash of the address and the user agent
	addr    uint64 // hash of the address as written in the event
	prefix  uint64 // hash of its /24 (IPv4) or /48 (IPv6)
	first   int64  // first request, Unix ns
	last    int64  // latest request, Unix ns
	topSlot int64  // slot of bit 0 of slots
	slots   uint64 // bit k set: a request in slot topSlot-k
	// epoch numbers the half-lookback the counts are of: hits counts the
	// requests of epoch, prev those of the one before.
	epoch      int64
	hits, prev uint32
	country    uint16     // of its latest request; 0 unknown
	ip         netip.Addr // the address, for the evidence (invalid: unreadable)
	ua         string     // the user agent, for the evidence
	// rends are the renditions the viewer fetched segments of.
	rends []rendition
}

// rendition is one rendition (HLS variant or audio rendition, DASH
// representation) a viewer fetches segments of, told apart by the
// segment paths' template: the path with its last run of digits (the
// segment number or time) left out.
type rendition struct {
	key uint64 // hash of the template
	// first and last are the first and latest segments, Unix ns; first
	// starts again after a pause of rendRecent.
	first, last int64
	// nums are the numbers (the digits the template leaves out) of the
	// last segments, n of them written in all.
	nums [rendNums]uint32
	n    uint32
	// The media fetched beyond real time, from the segments' media_ms: a
	// player's forward buffer as a leaky bucket. level is the media
	// fetched and not yet drained at 1 s per s as of levelAt; it starts
	// again at a jump in the numbers (a seek: the player drops its
	// buffer). runAt and runMS are the start of the current run of
	// consecutive segments and the media fetched in it; lastNum and step
	// are the last number and the last step between two.
	level, runMS   float32
	levelAt, runAt int64
	lastNum, step  uint32
	// mediaNow and mediaPrev are the media fetched (ms, repeats included,
	// saturating) in the viewer's current and previous half-lookback
	// (viewer.epoch), for the media speed.
	mediaNow, mediaPrev uint32
	// The pace of new segments in the last paceSlots slots of paceSlot:
	// paceMS the media fetched in each (ms), paceBusy the time spent
	// transferring them (ms, the requests' durations), slot k at index
	// k%paceSlots; paceAt is the newest slot.
	paceMS, paceBusy [paceSlots]uint16
	paceAt           int64
	name             string // the template, for the evidence
}

// The pace: a player fetching ahead of real time fills its buffer with
// its link busy (back to back, as fast as the link allows), then fetches
// one segment per segment played; a downloader pacing its requests at
// several times real time leaves its link idle between them, steadily.
const (
	// paceSlot is the width of a pace slot.
	paceSlot = 2 * time.Second
	// paceSlots is how many a rendition keeps: the current one and the
	// paceWindow complete ones before it.
	paceSlots  = 4
	paceWindow = paceSlots - 1
)

// pace records a new segment of ms of media, fetched at t in busy.
func (r *rendition) pace(t int64, ms uint32, busy time.Duration) {
	k := t / int64(paceSlot)
	switch {
	case k > r.paceAt:
		for i := r.paceAt + 1; i <= min(k, r.paceAt+paceSlots); i++ {
			r.paceMS[i%paceSlots], r.paceBusy[i%paceSlots] = 0, 0
		}
		r.paceAt = k
	case k <= r.paceAt-paceSlots:
		return
	}
	i := k % paceSlots
	r.paceMS[i] = uint16(min(uint32(r.paceMS[i])+ms, math.MaxUint16))
	r.paceBusy[i] = uint16(min(int64(r.paceBusy[i])+busy.Milliseconds(), math.MaxUint16))
}

// paced reports whether the rendition was fetched, in each of the
// paceWindow complete slots before now's, at twice real time or more
// with its link idle more than half the time: a downloader pacing its
// requests, not a player filling its buffer.
func (r *rendition) paced(now int64) bool {
	k := now / int64(paceSlot)
	if r.paceAt < k-1 || r.paceAt > k {
		return false
	}
	slot := uint32(paceSlot.Milliseconds())
	for j := k - paceWindow; j < k; j++ {
		i := j % paceSlots
		if uint32(r.paceMS[i]) < 2*slot || 2*uint32(r.paceBusy[i]) > slot {
			return false
		}
	}
	return true
}

// rendNums is how many segment numbers a rendition remembers.
const rendNums = 4

// note records segment number num.
func (r *rendition) note(num uint32) {
	for _, x := range r.nums[:min(r.n, rendNums)] {
		if x == num {
			return
		}
	}
	r.nums[r.n%rendNums] = num
	r.n++
}

// shared counts the segment numbers r and o both remember.
func (r *rendition) shared(o *rendition) int {
	c := 0
	for _, x := range r.nums[:min(r.n, rendNums)] {
		for _, y := range o.nums[:min(o.n, rendNums)] {
			if x == y {
				c++
				break
			}
		}
	}
	return c
}

// place is one /24 (IPv4) or /48 (IPv6) prefix a session was seen from,
// kept for the whole window: many places one after another are as
// telling as many at once.
type place struct {
	prefix      uint64
	first, last int64
	country     uint16
	asn         uint32     // of its latest request that had one; 0 unknown
	addr        netip.Addr // the latest address, for the evidence
}

// seen is one user agent, referer or country of a session.
type seen struct {
	h    uint64
	last int64
}

// session is one session's state.
type session struct {
	id string
	// hot is set when a request may have put the session over the
	// threshold (see Detector.TickHot) until a hot tick looks at it.
	hot bool
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
	viewers         []viewer
	places          []place
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
// whose bucket index is t/d.bucketW. It reports whether the request may
// have put the session over the threshold: a viewer's media bucket past
// the download limit, a viewer with more renditions than allowed, or a
// third place or more.
func (s *session) observe(d *Detector, ev *accesslog.Event, t int64) (hot bool) {
	w := d.bucketW
	idx := t / w
	switch {
	case idx > s.top:
		s.advance(idx)
	case idx <= s.top-nBuckets:
		return false // older than every bucket kept
	}
	b := &s.bk[idx%nBuckets]
	if us := uint32((t - idx*w) / 1000); us < b.minUS {
		b.minUS = us
	}
	kib := uint32(min((max(ev.BytesSent, 0)+1023)/1024, math.MaxUint32))
	if b.bytes > math.MaxUint32-kib {
		kib = math.MaxUint32 - b.bytes
	}
	b.bytes += kib
	s.sumBytes += uint64(kib)
	b.hits++
	s.sumHits++
	if t > s.last {
		s.last = t
	}
	cty := country(ev.Country)
	uaHash := maphash.String(d.seed, ev.UserAgent)
	ip := s.viewer(d, ev, uaHash, t, cty)
	hot = s.place(ip.ip, ip.prefix, t, cty, ev.ASN, d.spreadHold) && len(s.places) >= 3
	rk, num, seg := mediatime.Key(d.seed, ev.OriginPath)
	if seg {
		hot = ip.rendition(d, rk, num, ev.OriginPath, t, ev.MediaMS, ev.Duration) || hot
	}
	s.uas = touch(s.uas, uaHash, t)
	// An absent referer counts as one value, as CloudFront's "-" does.
	s.refs = touch(s.refs, maphash.String(d.seed, ev.Referer), t)
	if cty != 0 {
		s.ctys = touch(s.ctys, uint64(cty), t)
	}
	// The URI's hash: a segment's from its template's and its number
	// (the path hashed once), anything else's from the path.
	uri := rk ^ (uint64(num)+1)*0xff51afd7ed558ccd
	if !seg {
		uri = maphash.String(d.seed, ev.OriginPath)
	}
	fp := uint32((uri ^ ip.addr*0x9e3779b97f4a7c15) >> 32)
	s.countPair(fp, idx)
	return hot
}

// advance makes idx the newest bucket, emptying those it passes.
func (s *session) advance(idx int64) {
	steps := min(idx-s.top, nBuckets)
	for i := int64(1); i <= steps; i++ {
		b := &s.bk[(s.top+i)%nBuckets]
		s.sumN -= b.n
		s.sumHits -= b.hits
		s.sumBytes -= uint64(b.bytes)
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

// viewer records a request of ev at t and returns its viewer's state.
func (s *session) viewer(d *Detector, ev *accesslog.Event, uaHash uint64, t int64, cty uint16) *viewer {
	addr := maphash.String(d.seed, ev.ViewerIP)
	key := addr ^ uaHash*0x9e3779b97f4a7c15
	var ip *viewer
	for i := range s.viewers {
		if s.viewers[i].key == key {
			ip = &s.viewers[i]
			break
		}
	}
	if ip == nil {
		a, pfx := parseAddr(d.seed, ev.ViewerIP)
		n := viewer{key: key, addr: addr, prefix: pfx, ip: a, first: t, topSlot: t / d.slotW,
			epoch: t / d.epochW, ua: d.intern.of(ev.UserAgent)}
		if len(s.viewers) < maxIPs {
			s.viewers = append(s.viewers, n)
			ip = &s.viewers[len(s.viewers)-1]
		} else {
			v := 0
			for i := range s.viewers {
				if s.viewers[i].last < s.viewers[v].last {
					v = i
				}
			}
			s.viewers[v] = n
			ip = &s.viewers[v]
		}
	}
	if t >= ip.last {
		ip.last = t
		if cty != 0 {
			ip.country = cty
		}
	}
	ip.first = min(ip.first, t)
	switch e := t / d.epochW; {
	case e > ip.epoch:
		if e == ip.epoch+1 {
			ip.prev = ip.hits
		} else {
			ip.prev = 0
		}
		for j := range ip.rends {
			ip.rends[j].shift(ip.epoch, e)
		}
		ip.hits, ip.epoch = 1, e
	case e == ip.epoch:
		ip.hits++
	case e == ip.epoch-1:
		ip.prev++
	}
	ip.topSlot, ip.slots = mark(ip.topSlot, ip.slots, t/d.slotW)
	return ip
}

// mark sets the bit of slot in an activity bitmap whose bit 0 is top,
// moving top forward to slot when it is later.
func mark(top int64, bits uint64, slot int64) (int64, uint64) {
	if slot > top {
		if sh := slot - top; sh >= 64 {
			bits = 0
		} else {
			bits <<= uint(sh)
		}
		top = slot
	}
	if k := top - slot; k < 64 {
		bits |= 1 << uint(k)
	}
	return top, bits
}

// rendition records segment num of the rendition rk (path p) at t,
// holding ms of media (0: unknown). It reports whether the viewer may be
// over a limit: its media bucket past the download limit, or more
// renditions than allowed.
func (v *viewer) rendition(d *Detector, rk uint64, num uint32, p string, t int64, ms uint32, busy time.Duration) bool {
	var r *rendition
	for i := range v.rends {
		if v.rends[i].key == rk {
			r = &v.rends[i]
			break
		}
	}
	if r == nil {
		n := rendition{key: rk, first: t, last: t, name: d.intern.of(mediatime.Template(p))}
		if len(v.rends) < maxRends {
			v.rends = append(v.rends, n)
			r = &v.rends[len(v.rends)-1]
		} else {
			old := 0
			for i := range v.rends {
				if v.rends[i].last < v.rends[old].last {
					old = i
				}
			}
			v.rends[old] = n
			r = &v.rends[old]
		}
	}
	if t > r.last+int64(rendRecent) {
		r.first = t
	}
	r.first = min(r.first, t)
	r.last = max(r.last, t)
	if ms > 0 {
		if r.media(num, t, ms) {
			r.pace(t, ms, busy)
		}
		r.count(v.epoch, t/d.epochW, ms)
	}
	r.note(num)
	return r.level >= d.hotLevel || r.level >= d.hotPaced && r.paced(t) || len(v.rends) > d.cfg.Concurrency.RenditionsAllowed
}

// count adds ms of media fetched at epoch e to the rendition's speed,
// the viewer being at epoch ve (viewer.viewer has moved it already):
// the rendition's counts follow the viewer's epochs.
func (r *rendition) count(ve, e int64, ms uint32) {
	switch e {
	case ve:
		r.mediaNow = satAdd(r.mediaNow, ms)
	case ve - 1:
		r.mediaPrev = satAdd(r.mediaPrev, ms)
	}
}

// shift moves the rendition's counts from epoch from to epoch to of its
// viewer.
func (r *rendition) shift(from, to int64) {
	switch {
	case to == from+1:
		r.mediaPrev, r.mediaNow = r.mediaNow, 0
	case to > from:
		r.mediaPrev, r.mediaNow = 0, 0
	}
}

func satAdd(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// media adds segment num, of ms milliseconds of media, fetched at t to
// the rendition's forward buffer (before note records num); false for a
// segment fetched again.
func (r *rendition) media(num uint32, t int64, ms uint32) bool {
	for _, x := range r.nums[:min(r.n, rendNums)] {
		if x == num {
			return false // fetched again: no new media
		}
	}
	if t > r.levelAt {
		r.level = max(0, r.level-float32(t-r.levelAt)/1e6)
		r.levelAt = t
	}
	d := num - r.lastNum // modulo 2^32: backwards is huge
	switch {
	case r.n == 0 || r.runAt == 0:
		r.runAt, r.runMS, r.level, r.levelAt = t, 0, 0, t
	case r.step == 0 && d > 0 && d < 1<<31:
		r.step = d
	case d == 0 || d > 2*max(r.step, 1):
		// A jump, forward or back: a seek, whose player dropped its
		// buffer; or a second device on the rendition.
		r.runAt, r.runMS, r.level, r.levelAt = t, 0, 0, t
	default:
		r.step = d
	}
	r.level += float32(ms)
	r.runMS += float32(ms)
	r.lastNum = num
	return true
}

// ahead returns the rendition's forward buffer at now, in ms.
func (r *rendition) ahead(now int64) float32 {
	if now <= r.levelAt {
		return r.level
	}
	return max(0, r.level-float32(now-r.levelAt)/1e6)
}

// place records a request from the address a, of prefix pfx, at t, and
// reports whether the place is new. A place is occupied from its first
// request to hold after its last: one that comes back after longer is
// occupied again from then on.
func (s *session) place(a netip.Addr, pfx uint64, t int64, cty uint16, asn uint32, hold int64) bool {
	for i := range s.places {
		p := &s.places[i]
		if p.prefix != pfx {
			continue
		}
		if t > p.last+hold {
			p.first = t
		}
		p.first = min(p.first, t)
		if t >= p.last {
			p.last = t
			if cty != 0 {
				p.country = cty
			}
			if asn != 0 {
				p.asn = asn
			}
			p.addr = a
		}
		return false
	}
	n := place{prefix: pfx, first: t, last: t, country: cty, asn: asn, addr: a}
	if len(s.places) < maxPlaces {
		s.places = append(s.places, n)
		return true
	}
	v := 0
	for i := range s.places {
		if s.places[i].last < s.places[v].last {
			v = i
		}
	}
	s.places[v] = n
	return true
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

// parseAddr reads an address and hashes its /24 (IPv4) or /48 (IPv6):
// the network a household or a mobile carrier's gateway hands out. An
// unreadable address is invalid and its own prefix.
func parseAddr(seed maphash.Seed, a string) (netip.Addr, uint64) {
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Addr{}, maphash.String(seed, "?"+a)
	}
	ip = ip.Unmap().WithZone("")
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Addr{}, maphash.String(seed, "?"+a)
	}
	b, _ := p.MarshalBinary() // never fails
	return ip, maphash.Bytes(seed, b)
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
