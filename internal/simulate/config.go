package simulate

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/smd-media/smd/internal/control/client"
)

// Defaults of Config.
const (
	DefaultDuration       = 60 * time.Second
	DefaultLegit          = 50
	DefaultLegitIPChange  = 0.2
	DefaultLegitHome      = 0.2
	DefaultShared         = 5
	DefaultShareIPsMin    = 3
	DefaultShareIPsMax    = 5
	DefaultRestreamers    = 2
	DefaultRestreamerRate = 50
	DefaultImpersonators  = 1
	// ImpersonatorIPs is how many addresses an impersonator pulls from.
	ImpersonatorIPs = 4
	// DefaultImpersonatorRate is each of its addresses' requests per
	// second: 40 requests from 4 addresses in 2 s, as the hostile test
	// that found the attack sent them.
	DefaultImpersonatorRate = 5
	DefaultBlockedStatus    = http.StatusForbidden
	// DefaultWideIPs and DefaultWideEvery: 20 addresses, each once every
	// 30 s, as the hostile test that found wide sharing unblocked asked.
	DefaultWideIPs   = 20
	DefaultWideEvery = 30 * time.Second
	// DefaultVODAssetID is the asset of VOD kinds (seekers, pausers, TVs,
	// long VOD, downloaders), created when absent: a long title of the
	// sample origin, DefaultVODPath.
	DefaultVODAssetID = "smd_simulate_vod"
	// DefaultVODPath is its playlist: four hours, longer than any run
	// plays at real time.
	DefaultVODPath     = "/long/240/simulate/master.m3u8"
	DefaultScorerLabel = "default"
	// DefaultAssetID is the asset the simulator creates when none is given.
	DefaultAssetID = "smd_simulate"
	// DefaultExcAssetID is the asset that impersonators' tokens come
	// from, created when absent: its tokens list the stream's directory
	// as an exc path.
	DefaultExcAssetID = "smd_simulate_exc"
	// DefaultAssetPath is the playlist of the asset it creates: the sample
	// origin's simulated live stream, on a channel of its own.
	DefaultAssetPath = "/live/simulate/master.m3u8"
)

// Limits of Config.
const (
	// MaxSessions bounds the sessions of one run: each costs a token, a
	// few goroutines and, for legitimate ones, about two requests a second.
	MaxSessions = 10000
	// MaxShareIPs bounds K, the addresses one shared token is replayed from.
	MaxShareIPs = 64
	// MaxDuration bounds a run.
	MaxDuration = 24 * time.Hour
)

// Config configures a simulation. Zero values are not defaults: start from
// [DefaultConfig].
type Config struct {
	// Edge is the edge's base URL, e.g. http://127.0.0.1:8080. Playback
	// URLs from the token API are replayed against it, whatever host the
	// asset names.
	Edge string
	// API is a client of the control plane's API with an API key. An
	// issuer key suffices to issue tokens for an existing asset; creating
	// the asset and reading revocations back need an admin key (or read
	// for the latter); without them the report says so.
	API *client.Client
	// AssetID is the asset to issue tokens for. Empty: DefaultAssetID,
	// created (with an admin key) when absent.
	AssetID string

	// Duration is how long viewers play, in real time.
	Duration time.Duration
	// Legit is the number of legitimate sessions; LegitIPChange and
	// LegitHome are the fractions of them that change address once and
	// that play on two devices of one home (the rest play on one device
	// from one address).
	Legit         int
	LegitIPChange float64
	LegitHome     float64
	// Shared is the number of tokens replayed from several addresses at
	// once; each from K addresses, K spread evenly from ShareIPsMin to
	// ShareIPsMax.
	Shared                   int
	ShareIPsMin, ShareIPsMax int
	// Restreamers is the number of sessions pulling every rendition as
	// fast as they can, each at most RestreamerRate requests per second
	// (0: no limit; then the machine, not the restreamer, sets the pace).
	Restreamers    int
	RestreamerRate float64
	// Impersonators is the number of viewers who write a legitimate
	// session's id in front of a token of their own (of DefaultExcAssetID,
	// whose policy has exc paths) and pull the exc paths from
	// ImpersonatorIPs addresses, each at most ImpersonatorRate requests
	// per second. They must cause no revocation.
	Impersonators    int
	ImpersonatorRate float64

	// The hiding kinds of abuse. Wide and WideIntl are tokens asked for
	// from WideIPs addresses (each in a /24 of its own), each asking once
	// every WideEvery, starting within a second: in one country, and in
	// five. Relays pull every rendition at real time from one address.
	// Downloaders4x and Downloaders10x fetch a long VOD title (VODAsset)
	// at 4 and 10 times real time from one address.
	Wide, WideIntl                int
	WideIPs                       int
	WideEvery                     time.Duration
	Relays                        int
	Downloaders4x, Downloaders10x int

	// The hard legitimate kinds: Households of three devices behind one
	// address; CGNAT mobile viewers whose address changes within a
	// carrier's pool; Mobiles, dual-stack phones moving from home Wi-Fi to
	// mobile data to an office and back; Seekers on a VOD title; ABR
	// players switching rendition often; Pausers on a VOD title; TVs that
	// prefetch 50 s of a VOD title; LongVOD viewers of a whole long title.
	Households, CGNAT, Mobiles, Seekers, ABR, Pausers, TVs, LongVOD int

	// ScorerLabel names the detector's scorer in the report.
	ScorerLabel string
	// Decisions, when set, holds every decision of the stack's detector
	// (the [Stack] in this process gives it): the report then has a row
	// per scorer, shadow ones included. Nil (an external stack): the
	// report says the per-scorer table was not measured.
	Decisions *DecisionLog
	// BlockedStatus is the edge's status for a revoked session (its
	// status.revoked, 403 by default).
	BlockedStatus int
	// Seed makes the random choices (start times, renditions, switches)
	// repeatable; 0 picks one from the clock.
	Seed int64
	// HTTP sends the viewers' requests; nil: a client with its own
	// transport.
	HTTP *http.Client
	// Log receives progress; nil: none.
	Log *slog.Logger
}

// DefaultConfig returns the defaults: 50 legitimate sessions (20 % change
// address once, 20 % are homes of two devices), 5 tokens shared from 3 to
// 5 addresses, 2 restreamers, 1 impersonator from 4 addresses, 60 s.
func DefaultConfig() Config {
	return Config{
		Duration:         DefaultDuration,
		Legit:            DefaultLegit,
		LegitIPChange:    DefaultLegitIPChange,
		LegitHome:        DefaultLegitHome,
		Shared:           DefaultShared,
		ShareIPsMin:      DefaultShareIPsMin,
		ShareIPsMax:      DefaultShareIPsMax,
		Restreamers:      DefaultRestreamers,
		RestreamerRate:   DefaultRestreamerRate,
		Impersonators:    DefaultImpersonators,
		ImpersonatorRate: DefaultImpersonatorRate,
		Wide:             1,
		WideIntl:         1,
		WideIPs:          DefaultWideIPs,
		WideEvery:        DefaultWideEvery,
		Relays:           1,
		Downloaders4x:    1,
		Downloaders10x:   1,
		Households:       2,
		CGNAT:            2,
		Mobiles:          2,
		Seekers:          2,
		ABR:              2,
		Pausers:          2,
		TVs:              2,
		LongVOD:          2,
		ScorerLabel:      DefaultScorerLabel,
		BlockedStatus:    DefaultBlockedStatus,
	}
}

// Validate checks the configuration; errors name the setting.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Edge); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("edge: %q is not an http(s)://host[:port] URL (the edge's base, without a path)", c.Edge))
	}
	if c.API == nil {
		errs = append(errs, errors.New("api: no API client"))
	}
	return errors.Join(append(errs, c.ValidateViewers())...)
}

// ValidateViewers checks what a run plays, everything but Edge and API:
// a caller that starts a [Stack] checks it first. Errors name the setting.
func (c *Config) ValidateViewers() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("duration", "%v is not between 0 and %v", c.Duration, MaxDuration)
	}
	if c.Legit < 0 {
		bad("legit", "%d is negative", c.Legit)
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"legit-ip-change", c.LegitIPChange}, {"legit-home", c.LegitHome}} {
		if !(f.v >= 0 && f.v <= 1) {
			bad(f.key, "%v is not a fraction from 0 to 1", f.v)
		}
	}
	if c.LegitIPChange+c.LegitHome > 1 {
		bad("legit-home", "legit-ip-change + legit-home = %v, more than 1", c.LegitIPChange+c.LegitHome)
	}
	if c.Shared < 0 {
		bad("shared", "%d is negative", c.Shared)
	}
	if c.ShareIPsMin < 2 || c.ShareIPsMax < c.ShareIPsMin || c.ShareIPsMax > MaxShareIPs {
		bad("share-ips", "%d..%d: want 2 <= min <= max <= %d", c.ShareIPsMin, c.ShareIPsMax, MaxShareIPs)
	}
	if c.Restreamers < 0 {
		bad("restreamers", "%d is negative", c.Restreamers)
	}
	if !(c.RestreamerRate >= 0) {
		bad("restreamer-rate", "%v is negative", c.RestreamerRate)
	}
	if c.Impersonators < 0 {
		bad("impersonators", "%d is negative", c.Impersonators)
	}
	if c.Impersonators > 0 && c.Legit == 0 {
		bad("impersonators", "%d impersonators need legitimate sessions to impersonate (legit is 0)", c.Impersonators)
	}
	if !(c.ImpersonatorRate > 0) {
		bad("impersonator-rate", "%v is not positive", c.ImpersonatorRate)
	}
	counts := []struct {
		key string
		n   int
	}{{"wide", c.Wide}, {"wide-intl", c.WideIntl}, {"restreamers-rt", c.Relays}, {"downloaders-4x", c.Downloaders4x},
		{"downloaders-10x", c.Downloaders10x}, {"households", c.Households}, {"cgnat", c.CGNAT}, {"mobiles", c.Mobiles},
		{"seekers", c.Seekers}, {"abr", c.ABR}, {"pausers", c.Pausers}, {"tvs", c.TVs}, {"long-vod", c.LongVOD}}
	n := c.Legit + c.Shared + c.Restreamers + c.Impersonators
	for _, k := range counts {
		if k.n < 0 {
			bad(k.key, "%d is negative", k.n)
		}
		n += max(k.n, 0)
	}
	if n < 1 || n > MaxSessions {
		bad("legit", "%d sessions in all: want 1 to %d", n, MaxSessions)
	}
	if c.WideIPs < 2 || c.WideIPs > MaxShareIPs {
		bad("wide-ips", "%d: want 2 to %d", c.WideIPs, MaxShareIPs)
	}
	if (c.Wide+c.WideIntl)*c.WideIPs > maxWideAddrs {
		bad("wide", "%d tokens of %d addresses: at most %d addresses in all", c.Wide+c.WideIntl, c.WideIPs, maxWideAddrs)
	}
	if c.WideEvery < time.Second || c.WideEvery > time.Hour {
		bad("wide-every", "%v: want 1s to 1h", c.WideEvery)
	}
	if c.BlockedStatus < 400 || c.BlockedStatus > 599 {
		bad("blocked-status", "%d is not a 4xx or 5xx status", c.BlockedStatus)
	}
	return errors.Join(errs...)
}

// shareIPs returns K for the j-th shared token: ShareIPsMin to ShareIPsMax
// in turn.
func (c *Config) shareIPs(j int) int {
	return c.ShareIPsMin + j%(c.ShareIPsMax-c.ShareIPsMin+1)
}

// legitSplit returns how many legitimate sessions change address once and
// how many are homes of two devices (rounded to the nearest session).
func (c *Config) legitSplit() (ipChange, home int) {
	ipChange = int(float64(c.Legit)*c.LegitIPChange + 0.5)
	home = int(float64(c.Legit)*c.LegitHome + 0.5)
	if ipChange+home > c.Legit {
		home = c.Legit - ipChange
	}
	return ipChange, home
}
