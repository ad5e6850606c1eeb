package cache

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// viewerHeaders are the origin response headers passed to viewers. It is an
// allowlist, so hop-by-hop headers, Set-Cookie and anything else the origin
// sends for itself never reach a viewer. Content-Length, Content-Range,
// Accept-Ranges and Age are computed per response.
var viewerHeaders = []string{
	"Content-Type",
	"Content-Encoding",
	"Content-Language",
	"Last-Modified",
	"Etag", // canonical form of ETag
	"Cache-Control",
	"Expires",
}

// Shared header values, never modified.
var (
	acceptRangesBytes = []string{"bytes"}
	contentLengthZero = []string{"0"}
)

// objectOverhead approximates the memory of an object beyond its body,
// key and header strings (structs, map entry, list links).
const objectOverhead = 256

// meta is an origin response as viewers see it, without its body. It is
// immutable once built.
type meta struct {
	status   int
	header   http.Header // viewerHeaders only, canonical keys
	length   int64       // body length; -1 when the origin did not say
	received time.Time   // when the response headers arrived
	age      time.Duration
	expires  time.Time
	noStale  bool
	// cacheable: a 200 whose headers allow storing it.
	cacheable bool
	// playlist: an HLS or DASH manifest.
	playlist bool
	// cost is the memory of key and headers, counted with the body.
	cost int64
}

// newMeta reads an origin response for the object key at rawURL.
func newMeta(key, rawURL string, resp *http.Response, received time.Time, cfg *Config) *meta {
	h := make(http.Header, len(viewerHeaders))
	cost := int64(objectOverhead + len(key))
	for _, k := range viewerHeaders {
		if vs := resp.Header[k]; len(vs) > 0 {
			vs = append([]string(nil), vs...)[:len(vs):len(vs)]
			h[k] = vs
			for _, v := range vs {
				cost += int64(len(k) + len(v))
			}
		}
	}
	m := &meta{
		status:   resp.StatusCode,
		header:   h,
		length:   resp.ContentLength,
		received: received,
		age:      ageOf(resp.Header),
		cost:     cost,
	}
	def := cfg.SegmentTTL
	if isPlaylist(rawURL, resp.Header.Get("Content-Type")) {
		def = cfg.PlaylistTTL
		m.playlist = true
	}
	fr := freshnessOf(resp.Header, received, def)
	m.noStale = fr.noStale
	m.expires = received.Add(fr.ttl)
	m.cacheable = resp.StatusCode == http.StatusOK && fr.store
	return m
}

// setHeader puts the viewer headers and Age into h.
func (m *meta) setHeader(h http.Header, now time.Time) {
	for k, v := range m.header {
		h[k] = v
	}
	h["Age"] = ageValue(m.age + now.Sub(m.received))
}

// unsetHeader removes what setHeader put into h, leaving the caller's own
// headers.
func (m *meta) unsetHeader(h http.Header) {
	for k := range m.header {
		delete(h, k)
	}
	delete(h, "Age")
}

// object is a complete cached response.
type object struct {
	meta
	key  string
	body []byte
	// lengthValue is the Content-Length header of the whole body.
	lengthValue []string

	// Owned by store.
	ref        atomic.Bool // used since the clock hand last passed
	prev, next *object
}

// newObject is a complete response for key, whose body is body.
func newObject(key string, m *meta, body []byte) *object {
	o := &object{meta: *m, key: key, body: body}
	o.length = int64(len(body))
	o.lengthValue = []string{strconv.FormatInt(o.length, 10)}
	o.cost = m.cost + o.length
	return o
}

// fresh tells whether o may be served without asking the origin.
func (o *object) fresh(now time.Time) bool { return now.Before(o.expires) }

// usableStale tells whether o may be served, expired, when its refresh
// fails.
func (o *object) usableStale(now time.Time, window time.Duration) bool {
	return !o.noStale && window > 0 && now.Before(o.expires.Add(window))
}
