package control

import (
	"errors"
	"fmt"
	"time"

	"github.com/smd-media/smd/internal/control/ratelimit"
	"github.com/smd-media/smd/internal/reqsign"
	"github.com/smd-media/smd/internal/viewer"
)

// Config configures the API. Zero values take the defaults given with
// each field.
type Config struct {
	// APIKeysFile is the JSON file of API keys (see docs/api.md and
	// package apikey); required. It is read once, by New.
	APIKeysFile string
	// PublicTokenEndpoint lets anyone call GET /v1/token, without an API
	// key (the demo); each client IP is then limited to TokenRate requests
	// per second with bursts of TokenBurst, and answered 429 with
	// Retry-After beyond. Callers that send an issuer key are not limited.
	// Default false: the endpoint needs an issuer key.
	PublicTokenEndpoint bool
	// TokenRate is the sustained rate per client IP (IPv6: per /64) of
	// the public token endpoint, in requests per second (default 5).
	TokenRate float64
	// TokenBurst is the burst per client IP (default 20).
	TokenBurst int
	// RateLimitClients bounds the client IPs tracked by the rate limiter
	// (default 100,000): memory stays bounded under a flood of addresses.
	RateLimitClients int
	// TrustedProxies are CIDRs (or single addresses) of the proxies in
	// front of the API, such as the edge: only from them are
	// X-Forwarded-For and, with GeoHeaders, the geo headers believed. The
	// client IP is the rightmost address of X-Forwarded-For that is not a
	// trusted proxy; without trusted proxies it is the socket's peer.
	TrustedProxies []string
	// GeoHeaders reads the viewer's country, region and city from
	// CloudFront-Viewer-Country, -Country-Region and -City (or
	// CF-IPCountry) sent by a trusted proxy. Turn it on only when that
	// proxy sets (and overwrites) these headers; otherwise a geo-bound
	// asset needs Deps.Locator.
	GeoHeaders bool
	// ClientIPHeader names the header in which a CDN among the trusted
	// proxies gives the caller's address (viewer.Identifier.IPHeader).
	ClientIPHeader string
	// RequireSignedRequests refuses every request without a valid HMAC
	// signature (package reqsign) from one of SignatureKeys: the API then
	// answers only through the edge that fronts it.
	RequireSignedRequests bool
	// SignatureKeys are the request-signing secrets by key id (each at
	// least 32 bytes); needed when RequireSignedRequests is set.
	SignatureKeys map[string][]byte
	// SignatureMaxSkew is how far a signed request's date may be from the
	// clock, in either direction (default 5m); older requests are refused
	// as stale.
	SignatureMaxSkew time.Duration
	// MaxTokenLifetime caps the expiry of issued tokens, whatever the
	// asset's policy says (default 24h). Key retirement relies on it: no
	// token outlives it.
	MaxTokenLifetime time.Duration
	// DefaultPageSize is the page size of list endpoints when the request
	// gives no limit (default 100).
	DefaultPageSize int
	// MaxPageSize is the largest limit a list request may ask (default
	// 1000).
	MaxPageSize int
	// PlaybackScheme is the scheme of playback URLs for assets whose
	// endpoint_hostname has none: "https", "http", or "" (the default):
	// the scheme the token request reached the edge by (X-Forwarded-Proto
	// from a trusted proxy, else whether the request came over TLS).
	PlaybackScheme string
	// MaxBodyBytes bounds request bodies (default 8 MiB); larger bodies
	// are answered 413.
	MaxBodyBytes int64
	// RequestTimeout bounds the work of one request, NATS operations
	// included (default 10s): in a NATS leader change a request can go
	// unanswered, and the caller then gets 503 unavailable to retry rather
	// than a hung connection.
	RequestTimeout time.Duration
	// UnrevokeHoldOff is how long the detector leaves a session alone
	// after an operator lifts its automatic revocation (default 10m, the
	// detector's default lookback: set it to the detector's lookback or
	// more, so that only what the session does after the unrevoke can
	// revoke it again).
	UnrevokeHoldOff time.Duration
}

// Defaults.
const (
	DefaultTokenRate        = 5
	DefaultTokenBurst       = 20
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultPageSize         = 100
	DefaultMaxPageSize      = 1000
	DefaultMaxBodyBytes     = 8 << 20
	DefaultRequestTimeout   = 10 * time.Second
	DefaultUnrevokeHoldOff  = 10 * time.Minute
)

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.TokenRate == 0 {
		c.TokenRate = DefaultTokenRate
	}
	if c.TokenBurst == 0 {
		c.TokenBurst = DefaultTokenBurst
	}
	if c.RateLimitClients == 0 {
		c.RateLimitClients = ratelimit.DefaultMaxClients
	}
	if c.SignatureMaxSkew == 0 {
		c.SignatureMaxSkew = reqsign.DefaultMaxSkew
	}
	if c.MaxTokenLifetime == 0 {
		c.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if c.DefaultPageSize == 0 {
		c.DefaultPageSize = DefaultPageSize
	}
	if c.MaxPageSize == 0 {
		c.MaxPageSize = DefaultMaxPageSize
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.UnrevokeHoldOff == 0 {
		c.UnrevokeHoldOff = DefaultUnrevokeHoldOff
	}
	return c
}

// validate checks c (with defaults); errors name the field.
func (c *Config) validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("control: %s: %s", field, fmt.Sprintf(format, a...)))
	}
	if c.APIKeysFile == "" {
		bad("APIKeysFile", "required")
	}
	if c.TokenRate < 0 {
		bad("TokenRate", "must be positive")
	}
	if c.TokenBurst < 0 {
		bad("TokenBurst", "must be at least 1")
	}
	if c.RateLimitClients < 0 {
		bad("RateLimitClients", "must be positive")
	}
	if c.SignatureMaxSkew < 0 {
		bad("SignatureMaxSkew", "must be positive")
	}
	if c.MaxTokenLifetime < time.Minute {
		bad("MaxTokenLifetime", "must be at least 1m")
	}
	if c.DefaultPageSize < 1 || c.MaxPageSize < 1 || c.DefaultPageSize > c.MaxPageSize {
		bad("DefaultPageSize", "must be from 1 to MaxPageSize (%d)", c.MaxPageSize)
	}
	if c.PlaybackScheme != "https" && c.PlaybackScheme != "http" && c.PlaybackScheme != "" {
		bad("PlaybackScheme", "%q is not https, http or empty (the request's)", c.PlaybackScheme)
	}
	if c.MaxBodyBytes < 1 {
		bad("MaxBodyBytes", "must be positive")
	}
	if c.UnrevokeHoldOff < time.Second || c.UnrevokeHoldOff > maxTTL {
		bad("UnrevokeHoldOff", "must be from 1s to %s", maxTTL)
	}
	if c.RequireSignedRequests && len(c.SignatureKeys) == 0 {
		bad("SignatureKeys", "required when RequireSignedRequests is set")
	}
	if _, err := viewer.ParseTrusted(c.TrustedProxies); err != nil {
		bad("TrustedProxies", "%v", err)
	}
	return errors.Join(errs...)
}
