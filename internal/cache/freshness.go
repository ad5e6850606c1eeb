package cache

import (
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// freshness is what an origin response lets a shared cache do with it.
type freshness struct {
	// store is false for no-store, no-cache and private responses, and for
	// those already stale when they arrive.
	store bool
	// ttl is how long the response stays fresh from its receipt.
	ttl time.Duration
	// noStale forbids serving the response once expired
	// (must-revalidate, proxy-revalidate).
	noStale bool
}

// maxDelta caps delta-seconds as RFC 9111 section 1.2.2 suggests (2^31 s).
const maxDelta = 1 << 31

// freshnessOf reads the caching headers of an origin response received at
// received. def is the lifetime when the origin states none.
func freshnessOf(h http.Header, received time.Time, def time.Duration) freshness {
	cc := parseCacheControl(h.Values("Cache-Control"))
	f := freshness{noStale: cc.mustRevalidate}
	if cc.noStore || cc.noCache || cc.private {
		return f
	}
	var lifetime time.Duration
	switch {
	case cc.sMaxAge != noDelta:
		lifetime = deltaDuration(cc.sMaxAge)
	case cc.maxAge != noDelta:
		lifetime = deltaDuration(cc.maxAge)
	case len(h.Values("Expires")) > 0:
		// An Expires that does not parse ("0", "-1") means already expired.
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil {
			return f
		}
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			date = received
		}
		lifetime = exp.Sub(date)
	default:
		lifetime = def
	}
	f.ttl = lifetime - ageOf(h)
	f.store = f.ttl > 0
	return f
}

// ageOf is the origin's Age header; zero when absent or invalid.
func ageOf(h http.Header) time.Duration {
	v := h.Get("Age")
	if v == "" {
		return 0
	}
	n, ok := parseDelta(v)
	if !ok {
		return 0
	}
	return deltaDuration(n)
}

// Delta-seconds sentinels of cacheControl.
const (
	noDelta      = -1 // directive absent
	invalidDelta = -2 // directive present with a bad value: treated as 0
)

// cacheControl is the response directives a shared cache obeys.
type cacheControl struct {
	noStore, noCache, private, mustRevalidate bool
	maxAge, sMaxAge                           int64
}

// parseCacheControl reads Cache-Control header values. Unknown directives
// are ignored; directive names are case-insensitive.
func parseCacheControl(values []string) cacheControl {
	cc := cacheControl{maxAge: noDelta, sMaxAge: noDelta}
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			name = strings.TrimSpace(name)
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			switch strings.ToLower(name) {
			case "no-store":
				cc.noStore = true
			case "no-cache":
				// With or without field names: this cache does not
				// revalidate, so it does not store.
				cc.noCache = true
			case "private":
				cc.private = true
			case "must-revalidate", "proxy-revalidate":
				cc.mustRevalidate = true
			case "max-age":
				cc.maxAge = deltaArg(arg)
			case "s-maxage":
				cc.sMaxAge = deltaArg(arg)
			}
		}
	}
	return cc
}

func deltaArg(s string) int64 {
	n, ok := parseDelta(s)
	if !ok {
		return invalidDelta
	}
	return n
}

// parseDelta reads delta-seconds: digits only, capped at maxDelta.
func parseDelta(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDelta), true
}

func deltaDuration(n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// isPlaylist tells HLS and DASH manifests from segments: by the extension
// of the URL's path, else by the Content-Type.
func isPlaylist(rawURL, contentType string) bool {
	p := rawURL
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".m3u8", ".mpd":
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl", "application/dash+xml":
		return true
	}
	return false
}

// formatAge is an Age header value.
// ageValues are the Age header values of the first hour, shared by all
// responses (net/http copies header values, never changes them): a hit
// then costs no allocation for its Age.
var ageValues = func() (v [3600][]string) {
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

// ageValue is the Age header value for d.
func ageValue(d time.Duration) []string {
	if s := d / time.Second; s >= 0 && s < time.Duration(len(ageValues)) {
		return ageValues[s]
	}
	return []string{formatAge(d)}
}

func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}
