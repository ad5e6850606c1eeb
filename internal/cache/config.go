package cache

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Config sets the limits of a Cache. Every field but Transport and Now is
// required.
type Config struct {
	// MaxBytes bounds the memory of cached objects: the bytes of stored
	// bodies, keys and headers, plus those reserved by fetches in progress
	// that will be stored. Least recently used objects are evicted to make
	// room.
	MaxBytes int64
	// MaxObjectBytes is the largest body stored; larger bodies are streamed
	// through uncached. At most MaxBytes.
	MaxObjectBytes int64
	// PlaylistTTL is how long a playlist (.m3u8, .mpd) stays fresh when the
	// origin gives no Cache-Control max-age or Expires, e.g. 2s for live.
	// Zero stores no such playlist.
	PlaylistTTL time.Duration
	// SegmentTTL is the same for every other object, e.g. 24h.
	SegmentTTL time.Duration
	// StaleIfError is how long past its expiry an object is still served
	// when its refresh fails (origin 5xx, unreachable, timed out). Zero
	// never serves stale objects.
	StaleIfError time.Duration
	// ConnectTimeout bounds the TCP (and TLS) connection to the origin, so
	// a black-holed origin cannot hold viewers.
	ConnectTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the origin's response
	// headers from the start of the fetch; past it viewers get 504 (or the
	// stale copy).
	ResponseHeaderTimeout time.Duration
	// ReadTimeout bounds each wait for more body bytes, so an origin that
	// stalls mid-body cannot hold a fetch and its viewers forever.
	ReadTimeout time.Duration
	// FetchTimeout bounds a whole fetch, headers and body, from its start:
	// past it the fetch ends, viewers that got nothing get 504 (or the
	// stale copy), the others a cut connection, and nothing is stored.
	// Zero: no bound but the others.
	FetchTimeout time.Duration
	// MinRate is the slowest origin body accepted, in bytes per second,
	// judged over each MinRateWindow of time spent waiting on the origin
	// (not on slow viewers): an origin that sends less than MinRate ×
	// MinRateWindow bytes (or what remains of a body of known length) in
	// that time ends the fetch as FetchTimeout does. Zero: no minimum.
	MinRate int64
	// MinRateWindow is the window of MinRate; required when MinRate is set.
	MinRateWindow time.Duration
	// Transport performs origin requests. Nil builds one from the timeouts
	// above, without proxies from the environment and without transparent
	// decompression. ResponseHeaderTimeout and ReadTimeout apply to any
	// Transport; ConnectTimeout only to the default one.
	Transport http.RoundTripper
	// Now is the clock of freshness decisions; time.Now when nil.
	Now func() time.Time
	// OnPlaylist, when set, is called with the origin URL and the body of
	// each playlist (.m3u8, .mpd, or a manifest Content-Type) fetched and
	// stored, once per fetch, from the fetch's goroutine before viewers
	// waiting on it are answered: keep it quick. Playlists streamed
	// through uncached (too large, not cacheable) are not passed. The body
	// must not be modified or kept.
	OnPlaylist func(url string, body []byte)
}

// validate reports every field out of range, by name.
func (cfg *Config) validate() error {
	var errs []error
	positive := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, v))
		}
	}
	notNegative := func(name string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %v", name, d))
		}
	}
	positive("MaxBytes", cfg.MaxBytes)
	positive("MaxObjectBytes", cfg.MaxObjectBytes)
	if cfg.MaxObjectBytes > cfg.MaxBytes && cfg.MaxBytes > 0 {
		errs = append(errs, fmt.Errorf("MaxObjectBytes (%d) must not exceed MaxBytes (%d)", cfg.MaxObjectBytes, cfg.MaxBytes))
	}
	notNegative("PlaylistTTL", cfg.PlaylistTTL)
	notNegative("SegmentTTL", cfg.SegmentTTL)
	notNegative("StaleIfError", cfg.StaleIfError)
	positiveDuration := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %v", name, d))
		}
	}
	positiveDuration("ConnectTimeout", cfg.ConnectTimeout)
	positiveDuration("ResponseHeaderTimeout", cfg.ResponseHeaderTimeout)
	positiveDuration("ReadTimeout", cfg.ReadTimeout)
	notNegative("FetchTimeout", cfg.FetchTimeout)
	if cfg.MinRate < 0 {
		errs = append(errs, fmt.Errorf("MinRate must not be negative, got %d", cfg.MinRate))
	}
	if cfg.MinRate > 0 {
		positiveDuration("MinRateWindow", cfg.MinRateWindow)
	}
	return errors.Join(errs...)
}

// newTransport is the default origin transport.
func newTransport(cfg *Config) *http.Transport {
	d := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		// No Proxy: the origin is reached directly, whatever the
		// environment says.
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: cfg.ConnectTimeout,
		ForceAttemptHTTP2:   true,
		// Bodies are cached and served as the origin sent them.
		DisableCompression: true,
		// An edge talks to few origins with many parallel fetches: keep
		// enough idle connections that a burst of misses does not redial.
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		// Origin response headers are small; a huge one is an attack or a
		// bug.
		MaxResponseHeaderBytes: 64 << 10,
	}
}
